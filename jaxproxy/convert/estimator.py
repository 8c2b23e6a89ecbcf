"""A reference sound-matching checkpoint -> an estimator export that `jaxproxy match` loads.

    python -m jaxproxy.convert checkpoint dexed_ssm_mn20_hc_v1_mix_a_p_e249_loss1.6251.ckpt \
        --mel-stats data/datasets/eval/dexed_mn20_hc_v1 --out exports/dexed_ssm_mix

The reference's sound-matching Lightning module saves `estimator.*` (its EstimatorNet) and, in
the runs with an audio loss (Mix, Switch), `synth_proxy.*`: the frozen TFM fine-tuned on the
hand-crafted set (facts 9.6); its PLoss runs drop the proxy. It saves no hyperparameters, and not
the log-mel statistics the estimator's input was min-max scaled with (those of the hand-crafted
training split, `stats_train.pkl`), so `--mel-stats` names them: that file, the reference dataset
folder holding it, or the folder `convert dataset` made of that set.

OUT is an estimator export (weights.npz, config.json, synth_spec.json, estimator.json, as
`jaxproxy.export_estimator` writes) plus conversion.json and, when the proxy was saved, OUT/proxy:
the proxy as `convert checkpoint` writes an encoder (workdir and export), which the estimator's
config names, so `jaxproxy match --refine` uses it.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.cli_support.command_line import about
from jaxproxy.configs import estimator as estimator_config
from jaxproxy.convert import encoder_map, estimator_map, torch_files
from jaxproxy.convert.encoder import (
    CONVERSION_FILE,
    REFERENCE_SYNTHS,
    audio_model_for,
    detect_synth,
    staging,
    synth_spec_json,
    write_encoder_workdir,
)
from jaxproxy.export_estimator import write_export
from jaxproxy.models.functional import split_model
from jaxproxy.models.layout import PresetLayout
from jaxproxy.schedules import LOSS_SCHEDULES

SSM_AUDIO_MODEL = "mn20_mel"  # the sound-matching proxy's target (facts 9.1, 9.6)
_STATS_FILES = ("stats_train.pkl", "stats.pkl")  # the reference's per-split statistics (4.3)
MEL_STATS_HELP = (
    "the estimator's log-mel min/max: a stats_train.pkl, the reference dataset folder holding it, "
    "or the folder `convert dataset` made of it"
)


def read_mel_stats(path: str | os.PathLike, unsafe_pickle: bool = False) -> tuple[float, float]:
    """(min, max) of the training log-mels, from `--mel-stats` (see MEL_STATS_HELP)."""
    path = Path(path)
    if path.is_dir():
        for meta in (path / "metadata.json", path / "train" / "metadata.json"):
            if meta.is_file():
                stats = json.loads(meta.read_text()).get("mel_stats")
                if not stats:
                    raise ValueError(f"{meta}: holds no mel_stats (expected {MEL_STATS_HELP})")
                return _min_max(stats, str(meta))
        found = [path / name for name in _STATS_FILES if (path / name).is_file()]
        if not found:
            raise ValueError(f"{path}: holds no {' or '.join(_STATS_FILES)}")
        path = found[0]
    raw = torch_files.torch_load(path, unsafe_pickle)
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a dict of min/max/mean/std, got {type(raw).__name__}")
    return _min_max(raw, str(path))


def _min_max(stats: dict[str, Any], where: str) -> tuple[float, float]:
    try:
        lo, hi = float(np.asarray(stats["min"])), float(np.asarray(stats["max"]))
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{where}: expected scalar 'min' and 'max' log-mel statistics") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise ValueError(f"{where}: expected finite min < max, got min {lo}, max {hi}")
    return lo, hi


def _synth_by_width(width: int, source: str) -> str:
    found = [
        n for n in REFERENCE_SYNTHS
        if estimator_map.output_width(PresetLayout.from_spec_json(synth_spec_json(n))) == width
    ]  # fmt: skip
    if len(found) != 1:
        raise ValueError(
            f"{source}: an estimator with {width} outputs matches {found or 'no reference synth'}; "
            "pass --synth"
        )
    return found[0]


def _schedule(ckpt: str, has_proxy: bool) -> str | None:
    """The loss schedule, when known: the reference drops the proxy only for PLoss; its file
    names carry the schedule (`dexed_ssm_mn20_hc_v1_mix_a_p_e249_...`)."""
    if not has_proxy:
        return "loss_p_only"
    name = os.path.basename(ckpt)
    return next((s for s in sorted(LOSS_SCHEDULES, key=len, reverse=True) if s in name), None)


def _config(synth: str, sizes: dict[str, Any], audio_model: str, schedule: str | None, proxy: str):
    base = synth.partition("@")[0]
    config = estimator_config.get_config(
        f"synth={base},schedule={schedule or 'switch'},audio_model={audio_model}"
    )
    with config.unlocked():
        config.synth = synth
        config.channels = sizes["channels"]
        config.d_final = sizes["d_final"]
        config.proxy = proxy  # "" when the checkpoint holds none: `match --proxy` then
        config.train_data = ""  # converted: no dataset of ours behind it
    return config


def convert_estimator(
    obj: Any,
    ckpt: str,
    out_dir: str,
    *,
    synth: str | None = None,
    audio_model: str | None = None,
    num_heads: int = 8,
    mel_stats: str | None = None,
    unsafe_pickle: bool = False,
) -> dict[str, Any]:
    """Writes the estimator export `out_dir` (and `out_dir/proxy`) atomically; returns facts."""
    if not mel_stats:
        raise ValueError(f"{ckpt}: a sound-matching estimator needs --mel-stats ({MEL_STATS_HELP})")
    with about("--mel-stats"):
        mel_min, mel_max = read_mel_stats(mel_stats, unsafe_pickle)
    state = torch_files.lightning_state(obj, ckpt)
    arrays = {str(k): torch_files.to_numpy(v, f"{ckpt}: key {k!r}") for k, v in state.items()}
    est_sd, proxy_sd = estimator_map.split_state(arrays, ckpt)
    if proxy_sd:  # its layout names the synth exactly (Diva's variants), its size the audio model
        encoder = encoder_map.detect_encoder(proxy_sd, ckpt)
        synth = detect_synth(encoder, proxy_sd, synth, ckpt)
        out_dim = encoder_map.infer_hyperparameters(encoder, proxy_sd, num_heads)[1]
        audio_model = audio_model_for(out_dim, audio_model, ckpt)
    audio_model = audio_model or SSM_AUDIO_MODEL
    sizes = estimator_map.infer_sizes(est_sd, ckpt)
    synth = synth or _synth_by_width(sizes["out_width"], ckpt)
    spec_json = synth_spec_json(synth)
    model, sizes = estimator_map.build_converted_estimator(
        est_sd, PresetLayout.from_spec_json(spec_json), mel_min, mel_max, ckpt
    )
    out_dir = os.path.abspath(out_dir)
    proxy_dir = os.path.join(out_dir, "proxy")
    schedule = _schedule(ckpt, bool(proxy_sd))
    config = _config(synth, sizes, audio_model, schedule,
                     os.path.join(proxy_dir, "export") if proxy_sd else "")  # fmt: skip
    facts: dict[str, Any] = {
        "source": os.path.abspath(ckpt),
        "kind": "sound-matching estimator",
        "synth": synth,
        "audio_model": audio_model,
        "estimator": {**sizes, "num_keys": len(est_sd)},
        "mel_min": mel_min,
        "mel_max": mel_max,
        "mel_stats": os.path.abspath(mel_stats),
        "loss_schedule": schedule,
        "epoch": obj.get("epoch") if isinstance(obj, dict) else None,
        "global_step": obj.get("global_step") if isinstance(obj, dict) else None,
        "proxy": None,
    }
    tmp = out_dir + ".converting"
    with staging(tmp, out_dir):
        _, params, batch_stats = split_model(model)
        write_export(tmp, params, batch_stats, config=config.to_dict(), spec_json=spec_json,
                     mel_min=mel_min, mel_max=mel_max, step=int(facts["global_step"] or 0),
                     checkpoint="converted")  # fmt: skip
        if proxy_sd:
            facts["proxy"] = write_encoder_workdir(
                proxy_sd, os.path.join(tmp, "proxy"), source=ckpt,
                prefix=estimator_map.PROXY_PREFIX, synth=synth, audio_model=audio_model,
                num_heads=num_heads,
            )  # fmt: skip
        with open(os.path.join(tmp, CONVERSION_FILE), "w") as f:
            json.dump(facts, f, indent=2, default=str)
    proxy_note = f", its proxy in {proxy_dir}" if proxy_sd else ", no proxy saved with it"
    facts["summary"] = (
        f"sound-matching estimator for {synth} ({len(sizes['channels'])} convolutions, "
        f"{sizes['out_width']} outputs{proxy_note}) -> {out_dir}"
    )
    return facts
