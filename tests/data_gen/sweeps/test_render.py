"""Sweep rendering: amsynth's sound depends on the previous note unless warmed up (measured)."""

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
def test_amsynth_warmup_makes_a_sound_independent_of_the_previous_one() -> None:
    base = get_spec("amsynth")
    sweeps = get_sweeps("amsynth")
    spec = build.sweep_spec(base, sweeps)
    raw = np.array([p.default for p in spec.used_params])
    names = [p.name for p in spec.used_params]
    raw[names.index("osc_mix")] = 0.5
    raw[names.index("osc2_range")] = 0.6  # osc 2 up a few octaves: its phase now carries over
    x = spec.from_render_values(raw)
    raw[names.index("osc2_range")] = 0.3
    y = spec.from_render_values(raw)
    with RenderPool(spec, ranking_settings(), 1, chunk_size=8) as pool:
        cold = _render(pool, np.stack([x, y, x]), warmup=False)
        warm = _render(pool, np.stack([x, y, x]), warmup=True)
    assert np.abs(cold[0] - cold[2]).max() > 1e-2  # same preset, different sound: history
    np.testing.assert_allclose(warm[0], warm[2], atol=1e-5)
