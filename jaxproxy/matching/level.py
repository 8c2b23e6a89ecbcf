"""Input level: bring a sound to the loudness the estimator was trained on, and loudness-match.

The estimator only ever saw the synth's renders (note 60, velocity 100), so its input level is part
of what it learned: the same sound 20 dB quieter used to change most parameters. `level_db`
measures a clip as the estimator sees it: the mean power of its log-mel (`ssm_log_mel`, the
estimator's front end), in dB. That measure scales exactly with the gain (x g in amplitude is
+20 log10 g dB), so `normalise` (one gain to the training renders' median level) gives the same
estimator input for any gain of the same sound. The training level is measured on the training
set's stored `mel` feature at export (`training_level`), so no audio is needed.

`match_rms` is the loudness-only comparison: a prediction scaled to its target's RMS.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from jaxproxy.mel import ssm_log_mel

MAX_EXAMPLES = 4096  # training clips measured at export (the median settles long before)


def mel_level_db(mel_db_BxMxT: np.ndarray) -> np.ndarray:
    """Level of each log-mel (dB values): 10 log10 of its mean power, float64[B]."""
    mel = np.asarray(mel_db_BxMxT, np.float64)
    power = np.power(10.0, mel.reshape(mel.shape[0], -1) / 10.0)
    return 10.0 * np.log10(power.mean(axis=1))


def level_db(audio_BxS: np.ndarray) -> np.ndarray:
    """Level of 32 kHz clips as the estimator sees them (see the module docstring): float64[B]."""
    audio = np.atleast_2d(np.asarray(audio_BxS, np.float64))
    return mel_level_db(ssm_log_mel(audio))


@dataclasses.dataclass(frozen=True)
class TrainingLevel:
    """The training renders' levels (dB, `level_db`): median and the 10th/90th percentiles."""

    median_db: float
    p10_db: float
    p90_db: float
    examples: int

    @classmethod
    def from_mels(cls, mel_db_BxMxT: np.ndarray) -> TrainingLevel:
        levels = mel_level_db(mel_db_BxMxT[:MAX_EXAMPLES])
        p10, median, p90 = np.percentile(levels, [10, 50, 90])
        return cls(float(median), float(p10), float(p90), len(levels))

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainingLevel:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})


def training_level(dataset_path: str) -> TrainingLevel:
    """Levels of a dataset's stored `mel` feature (the estimator's training input)."""
    from jaxproxy.data import open_dataset

    ds = open_dataset(dataset_path)
    mel = ds.read_range(0, min(ds.num_examples, MAX_EXAMPLES), ("mel",))["mel"]
    return TrainingLevel.from_mels(mel)


def normalise(audio_BxS: np.ndarray, target_db: float) -> tuple[np.ndarray, np.ndarray]:
    """Each clip scaled by one gain to `target_db` (`level_db`): (float32[B, S], gains dB[B])."""
    audio = np.atleast_2d(np.asarray(audio_BxS, np.float64))
    gain_db = target_db - level_db(audio)
    scaled = audio * np.power(10.0, gain_db / 20.0)[:, None]
    return scaled.astype(np.float32), gain_db


def rms(audio_BxS: np.ndarray) -> np.ndarray:
    """Root mean square of each clip, float64[B]."""
    audio = np.atleast_2d(np.asarray(audio_BxS, np.float64))
    return np.sqrt(np.mean(audio**2, axis=1))


def match_rms(pred_BxS: np.ndarray, target_BxS: np.ndarray) -> np.ndarray:
    """Each prediction scaled to its target's RMS (a silent prediction stays silent)."""
    pred = np.atleast_2d(np.asarray(pred_BxS, np.float64))
    have, want = rms(pred), rms(target_BxS)
    gain = np.divide(want, have, out=np.ones_like(have), where=have > 0)
    return (pred * gain[:, None]).astype(np.float32)


def loudness_ratio_db(pred_BxS: np.ndarray, target_BxS: np.ndarray) -> np.ndarray:
    """How much louder (RMS, dB) each prediction is than its target, float64[B]."""
    tiny = 1e-12
    return 20.0 * np.log10((rms(pred_BxS) + tiny) / (rms(target_BxS) + tiny))
