"""The paper's RMS filter, in one place: a clip is kept when low < RMS < high (strict bounds).

Synthetic examples outside the range are redrawn from their own random stream
(`render.examples.render_example`); hand-crafted presets outside it are dropped with the reason
`rejection` gives (`presets.processing`, `dataset.handcrafted`). The bounds are
`RenderSettings.rms_range`, (0.01, 1) by default as in the reference.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_RMS_RANGE = (0.01, 1.0)


def clip_rms(audio_S: np.ndarray) -> float:
    """RMS of a mono clip, computed in float64 (float32 sums drift on 160,000 samples)."""
    audio = np.asarray(audio_S, dtype=np.float64)
    return float(np.sqrt(np.mean(audio * audio))) if audio.size else 0.0


def accepts(rms: float, rms_range: tuple[float, float] = DEFAULT_RMS_RANGE) -> bool:
    """Whether a clip of this RMS passes (strict bounds, like the reference; NaN never does)."""
    low, high = rms_range
    return math.isfinite(rms) and low < rms < high


def rejection(rms: float, rms_range: tuple[float, float] = DEFAULT_RMS_RANGE) -> str | None:
    """None when `rms` passes, else the reason reports give: "rms 0.004 outside (0.01, 1.0)"."""
    if accepts(rms, rms_range):
        return None
    low, high = rms_range
    return f"rms {rms:.4g} outside ({low}, {high})"
