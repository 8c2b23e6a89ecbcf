"""Sweep rendering: an amsynth sound does not depend on the sound rendered before it."""

from pathlib import Path

import numpy as np
import pytest

from data_gen.render import RenderPool
from data_gen.sweeps import build
from data_gen.sweeps.definitions import get_sweeps
from data_gen.sweeps.study import _render, ranking_settings
from data_gen.synths.registry import get_spec

AMSYNTH = Path("/usr/lib/vst/amsynth_vst.so")


@pytest.mark.skipif(not AMSYNTH.exists(), reason="Debian package amsynth not installed")
def test_amsynth_sweep_sound_is_independent_of_the_previous_one() -> None:
    """Rendered in one process, the second x differed from the first by over 1e-2 (the study
    used to render every sound twice and keep the second)."""
    base = get_spec("amsynth")
    spec = build.sweep_spec(base, get_sweeps("amsynth"))
    raw = np.array([p.default for p in spec.used_params])
    names = [p.name for p in spec.used_params]
    raw[names.index("osc_mix")] = 0.5
    raw[names.index("osc2_range")] = 0.6  # osc 2 up a few octaves: its phase used to carry over
    x = spec.from_render_values(raw)
    raw[names.index("osc2_range")] = 0.3
    y = spec.from_render_values(raw)
    with RenderPool(spec, ranking_settings(), 1, chunk_size=8) as pool:
        clips = _render(pool, np.stack([x, y, x]))
    assert np.abs(clips[0] - clips[1]).max() > 1e-2
    assert clips[0].tobytes() == clips[2].tobytes()
