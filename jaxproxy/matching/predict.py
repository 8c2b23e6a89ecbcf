"""One path from target sounds to scored presets, for `jaxproxy match` and the evaluation.

`estimate`: each sound brought to the estimator's training level (`level.normalise`), its log-mel,
the logits and the hard preset. `refine`: gradient steps through the proxy toward each sound's
embedding, then the best candidates rendered and the closest kept (`refine.pick_by_audio`).
`score`: the paper's audio metrics as is and loudness-matched (each prediction scaled to its
target's RMS), and the pitch of every clip.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from jaxproxy.matching import evaluation, level, pitch
from jaxproxy.matching import refine as refining

SAMPLE_RATE = 32000


@dataclasses.dataclass(frozen=True)
class Estimate:
    """The estimator's view of N sounds: the level-normalised clips and their gains (dB, 0 when
    the export has no training level), the logits float32[N, W] and hard presets float32[N, P]."""

    audio: np.ndarray
    gain_db: np.ndarray
    logits: np.ndarray
    presets: np.ndarray


def estimate(
    estimator: Any, audio_NxS: np.ndarray, times: dict[str, float] | None = None
) -> Estimate:
    """Normalises each clip to `estimator.input_level` (when known) and predicts its preset;
    adds the seconds of "level + log-mel" and "estimator" to `times`."""
    start = time.perf_counter()
    audio = np.atleast_2d(np.asarray(audio_NxS, np.float32))
    if estimator.input_level is not None:
        audio, gain_db = level.normalise(audio, estimator.input_level.median_db)
    else:
        gain_db = np.zeros(len(audio))
    mels = evaluation.log_mels(audio)
    middle = time.perf_counter()
    logits = evaluation.predict_logits(estimator, mels)
    presets = estimator.decode(logits)
    if times is not None:
        times["level + log-mel"] = times.get("level + log-mel", 0.0) + middle - start
        times["estimator"] = times.get("estimator", 0.0) + time.perf_counter() - middle
    return Estimate(audio, gain_db, logits, presets)


def level_line(estimator: Any, gain_db: np.ndarray) -> str:
    """One line saying what was done to the input level (the tools print it first)."""
    lv = estimator.input_level
    if lv is None:
        return f"input level: NOT normalised: training level {estimator.level_source}"
    gains = ", ".join(f"{g:+.1f}" for g in np.asarray(gain_db)[:8])
    more = ", ..." if len(gain_db) > 8 else ""
    return (
        f"input level: brought to the training renders' median {lv.median_db:.1f} dB (log-mel "
        f"power; 10-90 %: {lv.p10_db:.1f} to {lv.p90_db:.1f}) by {gains}{more} dB"
    )


@dataclasses.dataclass(frozen=True)
class RefineResult:
    """Refined presets float32[N, P], which candidate won int[N] (0: the estimator's own), the
    proxy L1 before and after float[N], and the winners' renders."""

    presets: np.ndarray
    picked: np.ndarray
    proxy_before: np.ndarray
    proxy_after: np.ndarray
    audio: np.ndarray


def refine(
    proxy: Any,
    estimator: Any,
    logits_NxW: np.ndarray,
    target_emb_NxE: np.ndarray,
    target_audio_NxS: np.ndarray,
    client: Any,
    steps: int,
    *,
    candidates: int = 8,
    learning_rate: float = 0.05,
    workers: int = 1,
) -> RefineResult:
    """`steps` proxy steps toward the embeddings, then the `candidates` best distinct presets
    rendered and the one closest to `target_audio` (loudness-matched a_mean) kept."""
    refined = refining.refine_presets(
        proxy, estimator.layout, logits_NxW, target_emb_NxE, steps,
        learning_rate=learning_rate, candidates=candidates,
    )  # fmt: skip
    presets, index, audio = refining.pick_by_audio(
        client, refined.candidates, target_audio_NxS, workers
    )
    rows = np.arange(len(index))
    steps_n = refined.candidate_steps[rows, index]
    after = refined.hard_losses[np.maximum(steps_n, 0), rows]
    return RefineResult(presets, index, refined.hard_losses[0], after, audio)


def score(
    pred_NxS: np.ndarray, target_NxS: np.ndarray, failed_N: np.ndarray | None = None,
    workers: int = 1, target_f0_N: np.ndarray | None = None,
) -> dict[str, Any]:  # fmt: skip
    """{"as_is": (reference metrics, per example), "loudness_matched": (...), "f0": per-clip
    f0 of the predictions, "f0_metrics": the pitch summary, "louder_db": per-example RMS ratio}."""
    target_f0 = pitch.clips_f0(target_NxS) if target_f0_N is None else target_f0_N
    pred_f0 = pitch.clips_f0(pred_NxS)
    return {
        "as_is": evaluation.score_audio(pred_NxS, target_NxS, failed_N, workers=workers),
        "loudness_matched": evaluation.score_audio(
            level.match_rms(pred_NxS, target_NxS), target_NxS, failed_N, workers=workers
        ),
        "f0": pred_f0,
        "target_f0": target_f0,
        "f0_metrics": pitch.f0_metrics(pred_f0, target_f0),
        "louder_db": level.loudness_ratio_db(pred_NxS, target_NxS),
    }
