"""Loads an exported sound-matching estimator for matching; imports no training code.

  estimator = load_estimator("exports/dx7_ssm_switch")
  presets_BxP = estimator.predict(mel_BxMxT)   # dB log-mel (jaxproxy.mel.ssm_log_mel) -> presets
  logits_BxW = estimator.logits(mel_BxMxT)     # used-order logits (models.estimator)

The folder (written by `jaxproxy.export_estimator`) holds `weights.npz`, `config.json`,
`synth_spec.json` and `estimator.json` (the log-mel statistics and front end, the layout).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx

from jaxproxy import mel as frontend
from jaxproxy.matching.level import TrainingLevel, training_level
from jaxproxy.models.estimator import build_estimator, decode_presets
from jaxproxy.models.functional import load_weights, split_model
from jaxproxy.models.layout import PresetLayout
from jaxproxy.proxy_loader import upcast_weight
from jaxproxy.run_files import CONFIG_FILE, SPEC_FILE, read_json

WEIGHTS_FILE, INFO_FILE = "weights.npz", "estimator.json"


class Estimator:
    """A loaded estimator (eval mode): dB log-mel float32[B, 128, T] -> presets / logits."""

    def __init__(self, folder: str):
        what = "an estimator export"
        self.folder = folder
        self.config = ml_collections.ConfigDict(read_json(folder, CONFIG_FILE, what))
        self.spec_json = read_json(folder, SPEC_FILE, what)
        self.info = read_json(folder, INFO_FILE, what)
        self.layout = PresetLayout.from_spec_json(self.spec_json)
        model = build_estimator(
            self.config, self.layout, self.info["mel_min"], self.info["mel_max"]
        )
        path = os.path.join(folder, WEIGHTS_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} is missing: is {folder} {what}?")
        with np.load(path) as npz:
            # float16 in the zoo
            load_weights(model, {name: upcast_weight(npz[name]) for name in npz.files}, path)
        model_def, params, batch_stats = split_model(model)

        def logits(params, batch_stats, mel_BxMxT):
            return nnx.merge(model_def.eval_graph, params, batch_stats, model_def.rest)(mel_BxMxT)

        self._weights = (params, batch_stats)
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


def dataset_level(path: str | None) -> TrainingLevel | None:
    """The training set's level, or None when the set is gone or has no `mel` feature."""
    if not path:
        return None
    try:
        return training_level(str(path))
    except (OSError, ValueError, KeyError):
        return None


def _input_level(info: Mapping[str, Any], config: Any) -> TrainingLevel | None:
    """The export's recorded level; for older exports, measured on the training set if present."""
    if "input_level" in info:
        return TrainingLevel.from_json(info["input_level"])
    return dataset_level(config.get("train_data"))


def load_estimator(folder: str) -> Estimator:
    return Estimator(folder)
