"""Sound-matching estimator config: a CNN on log-mel trained with a proxy-based audio loss.

Commands (a dataset with the estimator's log-mel, `--extras mel`; an exported, fine-tuned proxy
for the same synth and audio model; then the estimator, which resumes if rerun):

  python -m data_gen.generate presets --synth dx7 --presets dx7.json --audio-model mel128 \
      --split train --extras mel --out data/dx7_mel128_hc_train
  python -m jaxproxy.main --config=proxy_finetune:synth=dx7 --workdir=runs/dx7_tfm_ft \
      --config.init_from=exports/dx7_tfm                          # facts 9.6
  python -m jaxproxy.export --workdir=runs/dx7_tfm_ft --out=exports/dx7_tfm_ft --checkpoint=best_l1
  python -m jaxproxy.main --config=configs/estimator.py:synth=dx7,schedule=switch \
      --workdir=runs/dx7_ssm_switch
  python -m jaxproxy.export_estimator --workdir=runs/dx7_ssm_switch --out=exports/dx7_ssm_switch

Arguments (comma-separated key=value after the colon): synth (dx7, dexed, diva, minisub,
amsynth, talnm), schedule (ploss, mix, switch, or the reference names loss_p_only, mix_a_p,
switch_p_a, mix_p_a, switch_a_p, loss_a_only), audio_model (default mel128; the paper's target
is mn20_mel: `audio_model=mn20_mel`), audio_input (hard = the paper: round/argmax, so only
numerical parameters get the audio loss's gradient; probs, straight_through or gumbel feed the
proxy soft presets), smoke (no value).

Settings are the paper's (facts 9.1-9.5): 89/11 train/validation split of the hand-crafted
training set (seed 42), min-max scaled dB log-mel (statistics of the whole hand-crafted train
set, validation part included, as the reference's stats_train.pkl), batch 64, 600 epochs, AdamW
with the synth's lr/betas/eps/weight decay, linear warmup, then ReduceLROnPlateau(0.5, patience
5) at each validation (every 10 epochs). `monitor` picks what the plateau and the best
checkpoint (the one `export_estimator` exports) follow: `a_mean` is the reference's, the mean
of the audio metrics on rendered predictions (validation presets rendered by the render service
in the background, at most `render_val_examples` of them); `auto` (the default) takes `a_mean`
when the synth renders here, else falls back to the proxy's validation L1 `a_l1` (PLoss, which
never runs the proxy, to its parameter loss `loss_p`). dx7 borrows Dexed's settings, amsynth
Diva's, minisub/talnm Dexed's.

Smoke variant (`:smoke`): a narrow CNN, batch 16, 12 steps, validation every 6 steps.
"""

import ml_collections

from jaxproxy import schedules
from jaxproxy.configs.arguments import parse_config_arg, synth_argument

# (lr, b1, b2, eps, weight_decay, warmup steps, label smoothing) per paper synth (facts 9.5).
PAPER_HPARAMS = {
    "dexed": (7e-3, 0.86, 0.98, 1e-8, 0.01, 2070, 0.02),
    "diva": (3e-4, 0.91, 0.98, 1e-7, 0.3, 1080, 0.01),
}
PAPER_SYNTH = {"dexed": "dexed", "dx7": "dexed", "diva": "diva", "amsynth": "diva"}
PAPER_SYNTH |= {"minisub": "dexed", "talnm": "dexed"}
AUDIO_INPUTS = ("hard", "probs", "straight_through", "gumbel")
MONITORS = ("auto", "a_mean", "a_l1", "loss_p")  # what the plateau and best checkpoint follow


def _parse(arg: str | None) -> dict[str, str]:
    defaults = {
        "synth": "dx7",
        "schedule": "switch",
        "audio_model": "mel128",
        "audio_input": "hard",
    }
    parsed = parse_config_arg(arg, defaults, "configs/estimator.py")
    # A spec file borrows Dexed's settings, as our other non-paper synths do.
    parsed["synth"], parsed["paper_synth"] = synth_argument(
        parsed["synth"], PAPER_SYNTH, "dexed", "configs/estimator.py"
    )
    schedule = schedules.LOSS_SCHEDULE_ALIASES.get(parsed["schedule"], parsed["schedule"])
    if schedule not in schedules.LOSS_SCHEDULES:
        names = sorted(schedules.LOSS_SCHEDULES) + sorted(schedules.LOSS_SCHEDULE_ALIASES)
        raise ValueError(f"configs/estimator.py: schedule must be one of {names}")
    if parsed["audio_input"] not in AUDIO_INPUTS:
        raise ValueError(f"configs/estimator.py: audio_input must be one of {AUDIO_INPUTS}")
    parsed["schedule"] = schedule
    return parsed


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """Returns the locked config for `arg` = "synth=...,schedule=...[,audio_model=...][,smoke]"."""
    args = _parse(arg)
    synth, audio_model = args["synth"], args["audio_model"]
    lr, b1, b2, eps, weight_decay, warmup, label_smoothing = PAPER_HPARAMS[args["paper_synth"]]

    config = ml_collections.ConfigDict()
    config.trainer = "estimator"
    config.synth = synth
    config.audio_model = audio_model
    config.seed = 42

    # Data (facts 9.1): one set with params, the target embedding and the log-mel (--extras mel),
    # split train/validation at random (seed 42).
    config.train_data = f"data/{synth}_{audio_model}_hc_train"
    config.train_fraction = 0.89
    config.split_seed = 42
    config.shuffle_seed = 42
    # The frozen proxy: an export (`python -m jaxproxy.export`) of a TFM fine-tuned on the same
    # hand-crafted training split (facts 9.6), for the same synth and audio model.
    config.proxy = f"exports/{synth}_tfm_{audio_model}_ft"

    # Estimator network (facts 9.2).
    config.channels = (8, 16, 32, 64, 128, 256, 512)
    config.d_final = 2048
    config.dropout = 0.3

    # Losses (facts 9.3-9.4).
    config.loss_schedule = args["schedule"]
    config.ramp_start_frac = 0.333
    config.ramp_warm_frac = 0.33
    config.label_smoothing = label_smoothing
    config.audio_input = args["audio_input"]
    config.gumbel_temperature = 1.0

    # Optimisation (facts 9.5).
    config.batch_size = 64
    config.num_epochs = 600
    config.num_train_steps = -1  # > 0 stops early (tests, smoke); -1 trains num_epochs
    config.lr = lr
    config.b1 = b1
    config.b2 = b2
    config.eps = eps
    config.weight_decay = weight_decay
    config.warmup_steps = warmup
    config.plateau_factor = 0.5
    config.plateau_patience = 5
    config.steps_per_call = 1

    # Validation every 10 epochs (facts 9.5); what the plateau and the best checkpoint follow.
    config.eval_every_epochs = 10
    config.monitor = "auto"  # auto, a_mean (rendered audio), a_l1 (the proxy), loss_p
    config.render_val_examples = 1024  # -1: the whole validation split, as the reference
    config.render_workers = 0  # render processes; 0: one per core
    # Rendered metrics of a validation are applied (plateau, best checkpoint) this many steps
    # later so training goes on while they render (-1: one epoch; at most the validation interval).
    config.render_lag_steps = -1
    config.eval_every_steps = -1  # > 0 overrides eval_every_epochs
    config.eval_batch_size = 64
    config.log_every_steps = 50
    config.checkpoint_every_steps = 2_000
    config.max_checkpoints_to_keep = 2
    config.distributed = False

    if "smoke" in args:
        config.train_data = f"data/smoke_{synth}_{audio_model}_hc_train"
        config.proxy = f"exports/smoke_{synth}_tfm_{audio_model}"
        config.channels = (4, 4, 8, 8, 8, 16, 16)
        config.d_final = 32
        config.batch_size = 16
        config.num_train_steps = 12
        config.warmup_steps = 3
        config.eval_every_steps = 6
        config.eval_batch_size = 8
        config.log_every_steps = 2
        config.checkpoint_every_steps = 4
        config.render_val_examples = 8
        config.render_workers = 1

    config.lock()
    return config
