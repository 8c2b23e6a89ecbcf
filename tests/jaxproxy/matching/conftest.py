"""Rendered clips for the sound-matching tests: six 5 s minisub notes at 32 kHz (about a second)."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def minisub_clips() -> np.ndarray:
    from data_gen.render import RenderSettings, make_renderer
    from data_gen.synths.registry import get_spec
    from data_gen.synths.sampling import PresetSampler

    spec = get_spec("minisub")
    presets = PresetSampler(spec, seed=7).sample_batch(np.arange(6))
    return make_renderer(spec, RenderSettings(sample_rate=32000)).render(presets)
