"""The RMS filter: strict bounds, NaN refused, one reason text, and the settings delegate to it."""

import subprocess
import sys

import numpy as np

from data_gen.render import rms
from data_gen.render.settings import RenderSettings


def test_strict_bounds_and_nan():
    assert rms.accepts(0.5) and not rms.accepts(0.01) and not rms.accepts(1.0)
    assert not rms.accepts(float("nan")) and not rms.accepts(float("inf"))
    assert rms.accepts(0.05, (0.04, 0.06)) and not rms.accepts(0.5, (0.04, 0.06))
    assert rms.rejection(0.5) is None
    assert rms.rejection(0.004) == "rms 0.004 outside (0.01, 1.0)"


def test_settings_use_the_same_filter():
    settings = RenderSettings(rms_range=(0.1, 0.2))
    for value in (0.05, 0.1, 0.15, 0.2, float("nan")):
        assert settings.accepts(value) == rms.accepts(value, (0.1, 0.2))


def test_clip_rms_in_float64():
    clip = np.full(160_000, 0.3, np.float32)
    assert abs(rms.clip_rms(clip) - 0.3) < 1e-7 and rms.clip_rms(np.zeros(0)) == 0.0


def test_light_submodules_do_not_start_the_pool():
    code = (
        "import sys, data_gen.render.rms, data_gen.render.settings, data_gen.presets.processing\n"
        "print(sorted(m for m in ('dawdreamer', 'data_gen.render.pool', 'data_gen.render.job')"
        " if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
