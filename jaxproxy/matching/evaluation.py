"""Scoring predicted presets: render them (render service, outside jit), then the paper's metrics.

`score_predictions` is the test-time path (in-domain targets with their presets, or out-of-domain
target clips); `ValidationHook` is what an estimator trainer calls during training: a fixed,
bounded subset of the validation set whose target clips are rendered once, predictions rendered
and scored on demand, optionally in a background thread so training is not render-bound.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
from collections.abc import Mapping
from typing import Any

import numpy as np

from jaxproxy.matching import audio_metrics, param_metrics
from jaxproxy.matching.render_client import RenderClient
from jaxproxy.mel import ssm_log_mel


def spec_kinds(spec_json: Mapping[str, Any]) -> tuple[list[str], list[int]]:
    """The used parameters' kinds and the categorical cardinalities, from `SynthSpec.to_json()`."""
    used = [p for p in spec_json["params"] if p.get("used", True)]
    return [p["kind"] for p in used], [int(p["cardinality"]) for p in used if p["kind"] == "cat"]


@dataclasses.dataclass
class Scores:
    """Metrics of one evaluation: `metrics` (reference protocol, floats), `per_example` (audio
    metrics float64[N] of each scored example), the rendered clips, and render failures."""

    metrics: dict[str, float]
    per_example: dict[str, np.ndarray]
    audio: np.ndarray
    failed: np.ndarray

    @property
    def num_failed(self) -> int:
        return int(self.failed.sum())


def parallel_metrics(
    pred_NxS: np.ndarray, target_NxS: np.ndarray, batch_size: int, workers: int
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """`audio_metrics.compute_metrics` over `workers` processes, in chunks of whole batches, so
    the reference's per-batch values are unchanged (tested equal to one process)."""
    n = len(pred_NxS)
    per_worker = -(-n // max(1, workers))
    chunk = batch_size * max(1, -(-per_worker // batch_size))
    starts = list(range(0, n, chunk))
    if workers <= 1 or len(starts) == 1:
        return audio_metrics.compute_metrics(pred_NxS, target_NxS, batch_size)
    context = multiprocessing.get_context("spawn")  # no JAX state in the children
    with concurrent.futures.ProcessPoolExecutor(len(starts), mp_context=context) as pool:
        parts = list(pool.map(audio_metrics.compute_metrics,
                              [pred_NxS[s : s + chunk] for s in starts],
                              [target_NxS[s : s + chunk] for s in starts],
                              [batch_size] * len(starts)))  # fmt: skip
    sizes = [min(chunk, n - s) for s in starts]
    reference = {m: sum(p[0][m] * k for p, k in zip(parts, sizes, strict=True)) / n
                 for m in parts[0][0]}  # fmt: skip
    return reference, {m: np.concatenate([p[1][m] for p in parts]) for m in parts[0][1]}


def score_audio(
    pred_audio_NxS: np.ndarray,
    target_audio_NxS: np.ndarray,
    failed_N: np.ndarray | None = None,
    batch_size: int = audio_metrics.REFERENCE_BATCH,
    workers: int = 1,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Audio metrics of the examples whose render did not fail (the reference protocol), and the
    per-example values (NaN where the render failed); `workers` processes compute them."""
    n = len(pred_audio_NxS)
    ok = np.ones(n, bool) if failed_N is None else ~np.asarray(failed_N, bool)
    per_example = {m: np.full(n, np.nan) for m in (*audio_metrics.METRICS, "a_mean")}
    if not ok.any():
        return {}, per_example
    metrics, values = parallel_metrics(
        pred_audio_NxS[ok], target_audio_NxS[ok], batch_size, workers
    )
    for name, column in values.items():
        per_example[name][ok] = column
    return metrics, per_example


def score_predictions(
    client: RenderClient,
    pred_presets_NxP: np.ndarray,
    target_audio_NxS: np.ndarray,
    *,
    target_presets_NxP: np.ndarray | None = None,
    spec_json: Mapping[str, Any] | None = None,
    batch_size: int = audio_metrics.REFERENCE_BATCH,
    workers: int = 1,
) -> Scores:
    """Renders the predictions and scores them against the target clips; with target presets
    (in-domain) and the spec, the parameter metrics too."""
    pred_audio, failed = client.render(pred_presets_NxP)
    metrics, per_example = score_audio(pred_audio, target_audio_NxS, failed, batch_size, workers)
    if target_presets_NxP is not None:
        if spec_json is None:
            raise ValueError("score_predictions: parameter metrics need the synth spec")
        kinds, cards = spec_kinds(spec_json)
        metrics.update(
            param_metrics.reference_param_metrics(
                pred_presets_NxP, target_presets_NxP, kinds, cards or None, batch_size
            )
        )
    metrics["render_failures"] = float(failed.sum())
    return Scores(metrics, per_example, pred_audio, failed)


class ValidationHook:
    """Audio and parameter metrics of an estimator on a fixed subset of validation examples.

    Built once per training run: starts a render service and renders the first `max_examples`
    validation presets (the targets). Then `hook(pred_presets)` (blocking) or
    `hook.submit(pred_presets)` (a Future; the render and the numpy metrics run while training
    goes on) scores predictions for exactly those examples, in the same order. Keys are the
    reference's: num_mae, bin_acc, cat_acc (and cat_acc_macro), stft, mstft, mel, mfccd, a_mean.
    """

    def __init__(
        self,
        spec_json: Mapping[str, Any],
        target_presets_NxP: np.ndarray,
        *,
        max_examples: int = 64,
        workers: int | None = None,
        settings_json: Mapping[str, Any] | None = None,
        batch_size: int = audio_metrics.REFERENCE_BATCH,
    ) -> None:
        if max_examples < 1:
            raise ValueError(f"ValidationHook: max_examples must be >= 1, got {max_examples}")
        self.spec_json = dict(spec_json)
        self.batch_size = batch_size  # the metrics' batches (the reference validates in 64s)
        self.target_presets = np.asarray(target_presets_NxP, np.float32)[:max_examples]
        self.client = RenderClient(spec_json, settings_json, workers)
        self.target_audio, failed = self.client.render(self.target_presets)
        if failed.any():
            self.close()
            raise RuntimeError(
                f"ValidationHook: {int(failed.sum())} validation presets failed to render"
            )
        self._executor = concurrent.futures.ThreadPoolExecutor(1, "validation-render")

    @property
    def num_examples(self) -> int:
        return len(self.target_presets)

    def __call__(self, pred_presets_NxP: np.ndarray) -> dict[str, float]:
        pred = np.asarray(pred_presets_NxP, np.float32)
        if pred.shape != self.target_presets.shape:
            raise ValueError(
                f"ValidationHook: predictions of shape {pred.shape}, expected "
                f"{self.target_presets.shape} (the first {self.num_examples} validation examples)"
            )
        return score_predictions(
            self.client,
            pred,
            self.target_audio,
            target_presets_NxP=self.target_presets,
            spec_json=self.spec_json,
            batch_size=self.batch_size,
        ).metrics

    def submit(self, pred_presets_NxP: np.ndarray) -> concurrent.futures.Future:
        """Scores in a background thread (renders happen in the service's processes)."""
        return self._executor.submit(self, np.array(pred_presets_NxP, np.float32))

    def close(self) -> None:
        executor = getattr(self, "_executor", None)
        if executor is not None:
            executor.shutdown(wait=True)
        self.client.close()

    def __enter__(self) -> ValidationHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def predict_logits(estimator: Any, mel_NxMxT: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The estimator's logits float32[N, W] for dB log-mels, in batches (`estimator.logits`)."""
    out = [
        np.asarray(estimator.logits(np.asarray(mel_NxMxT[k : k + batch_size], np.float32)))
        for k in range(0, len(mel_NxMxT), batch_size)
    ]
    return np.concatenate(out).astype(np.float32)


def log_mels(audio_NxS: np.ndarray) -> np.ndarray:
    """The estimator's input (`ssm_log_mel`) for each clip: float32[N, 128, T]."""
    return np.concatenate(
        [ssm_log_mel(audio_NxS[k : k + 64]) for k in range(0, len(audio_NxS), 64)]
    )
