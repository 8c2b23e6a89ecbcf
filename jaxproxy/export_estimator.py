"""Export a trained sound-matching estimator to a folder, and load it back for matching.

The folder holds `weights.npz` (parameters and BatchNorm statistics), `config.json`,
`synth_spec.json` and `estimator.json` (the log-mel statistics and front end, the layout, and
`input_level`: the training renders' level, `jaxproxy.matching.level`, to which every input is
brought before prediction).
`load_estimator(folder)` rebuilds the Flax model in eval mode:

  estimator = load_estimator("exports/dx7_ssm_switch")
  presets_BxP = estimator.predict(mel_BxMxT)   # dB log-mel (jaxproxy.mel.ssm_log_mel) -> presets
  logits_BxW = estimator.logits(mel_BxMxT)     # used-order logits (models.estimator)

  python -m jaxproxy.export_estimator --workdir=runs/dx7_ssm --out=exports/dx7_ssm \
      --checkpoint=best      # the run's monitor: best_a_mean, best_a_l1 or best_loss_p
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import app, flags
from flax import nnx

from jaxproxy import mel as frontend
from jaxproxy.checkpointing import Checkpointer, abstract_like
from jaxproxy.export import flat_weights
from jaxproxy.logs import setup_cli_logging
from jaxproxy.matching.level import TrainingLevel, training_level
from jaxproxy.models.estimator import decode_presets
from jaxproxy.models.layout import PresetLayout
from jaxproxy.proxy_loader import upcast_weight
from jaxproxy.trainers import estimator, estimator_step, proxy_step

WEIGHTS_FILE, INFO_FILE = "weights.npz", "estimator.json"
CONFIG_FILE, SPEC_FILE = "config.json", "synth_spec.json"


def _read_json(folder: str, name: str, what: str) -> Any:
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} is missing: is {folder} {what}?")
    with open(path) as f:
        return json.load(f)


CHECKPOINTS = ("best", *estimator.BEST_MODES, "latest")


def export_estimator(workdir: str, out_dir: str, checkpoint: str = "best") -> str:
    """Writes the export folder of `checkpoint`: "best" (the best by the run's monitor, the
    reference's choice), "best_a_mean", "best_a_l1", "best_loss_p" or "latest"."""
    what = "an estimator training workdir"
    config = ml_collections.ConfigDict(_read_json(workdir, estimator.CONFIG_FILE, what))
    spec_json = _read_json(workdir, estimator.SPEC_FILE, what)
    facts = _read_json(workdir, estimator.DATA_FILE, what)
    if checkpoint == "best":  # runs from before `monitor` followed a_l1
        checkpoint = f"best_{facts.get('monitor', 'a_l1')}"
    layout = PresetLayout.from_spec_json(spec_json)
    model = estimator.build_model(config, layout, facts["mel_min"], facts["mel_max"])
    _, params, batch_stats = proxy_step.split_model(model)
    tx = estimator_step.make_optimizer(config)
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), best_modes=estimator.BEST_MODES)
    restored = ckpt.restore(
        abstract_like(estimator_step.init_state(params, batch_stats, tx)), checkpoint
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
        input_level=_dataset_level(config.get("train_data")),
    )


def _dataset_level(path: str | None) -> TrainingLevel | None:
    """The training set's level, or None when the set is gone or has no `mel` feature."""
    if not path:
        return None
    try:
        return training_level(str(path))
    except (OSError, ValueError, KeyError):
        return None


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


class Estimator:
    """A loaded estimator (eval mode): dB log-mel float32[B, 128, T] -> presets / logits."""

    def __init__(self, folder: str):
        what = "an estimator export"
        self.folder = folder
        self.config = ml_collections.ConfigDict(_read_json(folder, CONFIG_FILE, what))
        self.spec_json = _read_json(folder, SPEC_FILE, what)
        self.info = _read_json(folder, INFO_FILE, what)
        self.layout = PresetLayout.from_spec_json(self.spec_json)
        model = estimator.build_model(
            self.config, self.layout, self.info["mel_min"], self.info["mel_max"]
        )
        model_def, params, batch_stats = proxy_step.split_model(model)
        names, treedef = flat_weights({"params": params, "batch_stats": batch_stats})
        path = os.path.join(folder, WEIGHTS_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} is missing: is {folder} {what}?")
        with np.load(path) as npz:
            missing = sorted(set(names) - set(npz.files))
            if missing:
                raise ValueError(f"{path}: weights {missing[:3]} missing (config mismatch?)")
            leaves = [jnp.asarray(upcast_weight(npz[n])) for n in names]  # float16 in the zoo
        tree = jax.tree_util.tree_unflatten(treedef, leaves)
        graph = model_def.eval_graph

        def logits(params, batch_stats, mel_BxMxT):
            return nnx.merge(graph, params, batch_stats, model_def.rest)(mel_BxMxT)

        self._weights = (tree["params"], tree["batch_stats"])
        self._logits = jax.jit(logits)
        self.input_level = _input_level(self.info, self.config)

    @property
    def level_source(self) -> str:
        """Where `input_level` came from, for the tools' first line."""
        if "input_level" in self.info:
            return "the export's training-set level"
        if self.input_level is not None:
            return f"measured on {self.config.get('train_data')}"
        return "unknown (old export without input_level, training set not found)"

    def logits(self, mel_BxMxT: Any) -> jax.Array:
        """Used-order logits float32[B, W] (models.estimator)."""
        mel = jnp.asarray(mel_BxMxT, jnp.float32)
        if mel.ndim != 3 or mel.shape[1] != frontend.N_MELS:
            raise ValueError(
                f"estimator {self.folder}: log-mel must be float32[B, 128, frames], got "
                f"{tuple(mel.shape)}"
            )
        return self._logits(*self._weights, mel)

    def predict(self, mel_BxMxT: Any) -> np.ndarray:
        """Hard presets float32[B, P] (sigmoid, round, argmax), ready to render."""
        return self.decode(self.logits(mel_BxMxT))

    def decode(self, logits_BxW: Any) -> np.ndarray:
        """Hard presets float32[B, P] from used-order logits (sigmoid, round, argmax)."""
        return np.asarray(decode_presets(logits_BxW, self.layout), np.float32)


def _input_level(info: Mapping[str, Any], config: Any) -> TrainingLevel | None:
    """The export's recorded level; for older exports, measured on the training set if present."""
    if "input_level" in info:
        return TrainingLevel.from_json(info["input_level"])
    return _dataset_level(config.get("train_data"))


def load_estimator(folder: str) -> Estimator:
    return Estimator(folder)


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
