"""One example end to end: sample, render, RMS filter with redraws from the example's stream."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import numpy as np

from data_gen.render.rms import clip_rms
from data_gen.render.sequence import Renderer
from data_gen.synths.sampling import PresetSampler


@dataclasses.dataclass
class RenderResult:
    """The outcome of one example (synthetic) or one given preset (hand-crafted).

    `preset` is the accepted candidate (or, when failed, the last one tried); `audio` is the mono
    clip float32[S], None when failed or not requested; `num_rejected` counts candidates the RMS
    filter refused before this one.
    """

    index: int
    preset: np.ndarray
    audio: np.ndarray | None
    rms: float
    num_rejected: int = 0
    failed: bool = False
    error: str | None = None


def render_example(
    renderer: Renderer,
    sampler: PresetSampler,
    index: int,
    *,
    return_audio: bool = True,
    on_reject: Callable[[], None] | None = None,
) -> RenderResult:
    """Renders example `index`: candidates from `sampler.stream(index)` until one passes the RMS
    filter; after `1 + max_resamples` refusals the example is returned failed (never with -1)."""
    settings = renderer.settings
    stream = sampler.stream(index)
    cap = settings.max_resamples
    for num_rejected in itertools.count() if cap < 0 else range(cap + 1):
        preset_P = next(stream)
        audio_S = renderer.render_one(preset_P)
        rms = clip_rms(audio_S)
        if settings.accepts(rms):
            return RenderResult(
                index, preset_P, audio_S if return_audio else None, rms, num_rejected
            )
        if on_reject is not None:
            on_reject()
    lo, hi = settings.rms_range
    return RenderResult(
        index,
        preset_P,
        None,
        rms,
        settings.max_resamples + 1,
        failed=True,
        error=f"all {settings.max_resamples + 1} candidates had RMS outside ({lo}, {hi}); "
        f"last {rms:.3g}",
    )


def render_preset(
    renderer: Renderer, index: int, preset_P: np.ndarray, *, return_audio: bool = True
) -> RenderResult:
    """Renders a given preset as is (no RMS redraw; the caller filters on `rms`)."""
    preset_P = np.asarray(preset_P, np.float32)
    audio_S = renderer.render_one(preset_P)
    return RenderResult(index, preset_P, audio_S if return_audio else None, clip_rms(audio_S))
