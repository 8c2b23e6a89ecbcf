"""Proxy fine-tuning config (facts 9.6): an exported proxy trained further on the SSM split.

  python -m jaxproxy.main --config=proxy_finetune:synth=dx7 --workdir=runs/dx7_tfm_ft \
      --config.init_from=exports/dx7_tfm --config.train_data=data/dx7_mel128_hc_train

The best checkpoint (validation L1) is exported to `runs/dx7_tfm_ft/export`, the estimator
config's `proxy`. Arguments: synth (dx7, dexed, diva, minisub, amsynth, talnm), audio_model
(default mel128), smoke. dx7/minisub/talnm borrow Dexed's settings, amsynth Diva's.
"""

import ml_collections

from jaxproxy.configs.arguments import parse_config_arg, synth_argument

# (lr, b1, b2, eps, weight_decay, warmup steps) per paper synth (facts 9.6).
PAPER_HPARAMS = {
    "dexed": (1e-3, 0.90, 0.998, 1e-8, 0.01, 3450),
    "diva": (5e-5, 0.86, 0.998, 1e-8, 0.08, 600),
}
PAPER_SYNTH = {"dexed": "dexed", "dx7": "dexed", "minisub": "dexed", "talnm": "dexed"}
PAPER_SYNTH |= {"diva": "diva", "amsynth": "diva"}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """Returns the locked config for `arg` = "synth=...[,audio_model=...][,smoke]"."""
    defaults = {"synth": "dx7", "audio_model": "mel128"}
    args = parse_config_arg(arg, defaults, "configs/proxy_finetune.py")
    # A spec file borrows Dexed's settings, as our other non-paper synths do.
    synth, paper_synth = synth_argument(
        args["synth"], PAPER_SYNTH, "dexed", "configs/proxy_finetune.py"
    )
    audio_model = args["audio_model"]
    lr, b1, b2, eps, weight_decay, warmup = PAPER_HPARAMS[paper_synth]

    config = ml_collections.ConfigDict()
    config.trainer = "proxy_finetune"
    config.synth = synth
    config.audio_model = audio_model
    config.seed = 42
    config.init_from = f"exports/{synth}_tfm_{audio_model}"
    config.train_data = f"data/{synth}_{audio_model}_hc_train"
    config.train_fraction = 0.89
    config.split_seed = 42
    config.shuffle_seed = 42
    config.batch_size = 64
    config.num_epochs = 250
    config.num_train_steps = -1
    config.lr = lr
    config.b1 = b1
    config.b2 = b2
    config.eps = eps
    config.weight_decay = weight_decay
    config.warmup_steps = warmup
    config.plateau_factor = 0.5
    config.plateau_patience = 10
    config.eval_every_steps = -1  # -1: every epoch
    config.eval_batch_size = 64
    config.log_every_steps = 50
    config.checkpoint_every_steps = 2_000
    config.max_checkpoints_to_keep = 2
    if "smoke" in args:
        config.batch_size = 16
        config.num_train_steps = 8
        config.warmup_steps = 2
        config.eval_every_steps = 4
        config.eval_batch_size = 8
        config.log_every_steps = 2
    config.lock()
    return config
