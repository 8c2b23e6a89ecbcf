"""Export a trained sound-matching estimator to a folder (`matching.estimator_loader` loads it).

The folder holds `weights.npz` (parameters and BatchNorm statistics), `config.json`,
`synth_spec.json` and `estimator.json` (the log-mel statistics and front end, the layout, and
`input_level`: the training renders' level, `jaxproxy.matching.level`, to which every input is
brought before prediction).

  python -m jaxproxy.export_estimator --workdir=runs/dx7_ssm --out=exports/dx7_ssm \
      --checkpoint=best      # the run's monitor: best_a_mean, best_a_l1 or best_loss_p
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from typing import Any

import ml_collections
import numpy as np
from absl import app, flags

from jaxproxy import mel as frontend
from jaxproxy.checkpointing import ESTIMATOR_BEST_MODES, Checkpointer, abstract_like
from jaxproxy.logs import setup_cli_logging
from jaxproxy.matching.estimator_loader import (
    CONFIG_FILE,
    INFO_FILE,
    SPEC_FILE,
    WEIGHTS_FILE,
    dataset_level,
)
from jaxproxy.matching.level import TrainingLevel
from jaxproxy.models.estimator import build_estimator
from jaxproxy.models.functional import flat_weights, split_model
from jaxproxy.models.layout import PresetLayout
from jaxproxy.run_files import DATA_FILE, read_json
from jaxproxy.train_state import estimator_optimizer, init_estimator_state

CHECKPOINTS = ("best", *ESTIMATOR_BEST_MODES, "latest")


def export_estimator(workdir: str, out_dir: str, checkpoint: str = "best") -> str:
    """Writes the export folder of `checkpoint`: "best" (the best by the run's monitor, the
    reference's choice), "best_a_mean", "best_a_l1", "best_loss_p" or "latest"."""
    what = "an estimator training workdir"
    config = ml_collections.ConfigDict(read_json(workdir, CONFIG_FILE, what))
    spec_json = read_json(workdir, SPEC_FILE, what)
    facts = read_json(workdir, DATA_FILE, what)
    if checkpoint == "best":  # runs from before `monitor` followed a_l1
        checkpoint = f"best_{facts.get('monitor', 'a_l1')}"
    layout = PresetLayout.from_spec_json(spec_json)
    model = build_estimator(config, layout, facts["mel_min"], facts["mel_max"])
    _, params, batch_stats = split_model(model)
    tx = estimator_optimizer(config)
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), best_modes=ESTIMATOR_BEST_MODES)
    restored = ckpt.restore(
        abstract_like(init_estimator_state(params, batch_stats, tx)), checkpoint
    )
    ckpt.close()
    if restored is None:
        raise FileNotFoundError(f"{workdir}/checkpoints/{checkpoint} holds no checkpoint")
    return write_export(
        out_dir,
        restored[0].params,
        restored[0].batch_stats,
        config=config.to_dict(),
        spec_json=spec_json,
        mel_min=facts["mel_min"],
        mel_max=facts["mel_max"],
        step=int(restored[2]),
        checkpoint=checkpoint,
        input_level=dataset_level(config.get("train_data")),
    )


def write_export(
    out_dir: str,
    params: Any,
    batch_stats: Any,
    *,
    config: Mapping[str, Any],
    spec_json: Mapping[str, Any],
    mel_min: float,
    mel_max: float,
    step: int,
    checkpoint: str,
    input_level: TrainingLevel | None = None,
) -> str:
    """Writes an export folder (atomically) for an estimator's params and BatchNorm statistics;
    used by `export_estimator` and by `jaxproxy convert checkpoint` for the reference's."""
    layout = PresetLayout.from_spec_json(spec_json)
    weights, _ = flat_weights({"params": params, "batch_stats": batch_stats})
    info = {
        "format_version": 1,
        "synth": spec_json.get("name"),
        "mel_min": float(mel_min),
        "mel_max": float(mel_max),
        "mel": {
            "sample_rate": frontend.SAMPLE_RATE,
            "n_fft": frontend.N_FFT,
            "hop": frontend.HOP,
            "n_mels": frontend.N_MELS,
            "db": True,
        },
        "num_used_params": layout.n_used,
        "output_width": int(layout.used_widths.sum()),
        "step": step,
        "checkpoint": checkpoint,
    }
    if input_level is not None:
        info["input_level"] = input_level.to_json()
    tmp = out_dir.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    np.savez(os.path.join(tmp, WEIGHTS_FILE), **weights)
    for name, payload in ((CONFIG_FILE, config), (SPEC_FILE, spec_json), (INFO_FILE, info)):
        with open(os.path.join(tmp, name), "w") as f:
            json.dump(payload, f, indent=2, default=str)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return out_dir


def main(argv: list[str]) -> None:
    del argv
    setup_cli_logging()
    FLAGS = flags.FLAGS  # noqa: N806
    path = export_estimator(FLAGS.workdir, FLAGS.out, FLAGS.checkpoint)
    print(f"exported {FLAGS.checkpoint} of {FLAGS.workdir} to {path}")


if __name__ == "__main__":
    flags.DEFINE_string("workdir", None, "Estimator training workdir.", required=True)
    flags.DEFINE_string("out", None, "Export folder to write.", required=True)
    flags.DEFINE_enum(
        "checkpoint", "best", list(CHECKPOINTS), "Which checkpoint (best: by the run's monitor)."
    )
    app.run(main)
