"""render_example / render_preset: RMS rejection from the example's own stream, bounded redraws."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from data_gen.render import make_renderer, render_example, render_preset
from data_gen.render.rms import clip_rms
from data_gen.synths.sampling import PresetSampler


@pytest.fixture(scope="module")
def tiny(tiny_spec, short_settings):
    return make_renderer(tiny_spec, short_settings)


def test_rejected_candidates_are_replaced_from_the_same_stream(tiny, tiny_spec) -> None:
    sampler = PresetSampler(tiny_spec, seed=5)
    rms = [clip_rms(tiny.render_one(sampler.sample(i))) for i in range(12)]
    # A threshold between the first candidates' RMS values, so some examples are rejected.
    low = float(np.median(rms))
    tiny.settings = dataclasses.replace(tiny.settings, rms_range=(low, 1.0), max_resamples=50)
    try:
        results = [render_example(tiny, sampler, i) for i in range(12)]
    finally:
        tiny.settings = dataclasses.replace(tiny.settings, rms_range=(0.01, 1.0))
    assert any(r.num_rejected > 0 for r in results)
    for i, r in enumerate(results):
        assert r.index == i and not r.failed
        stream = sampler.stream(i)
        candidates = [next(stream) for _ in range(r.num_rejected + 1)]
        np.testing.assert_array_equal(r.preset, candidates[-1])
        assert low < r.rms < 1.0 and r.rms == pytest.approx(clip_rms(r.audio))
        for rejected in candidates[:-1]:
            assert clip_rms(tiny.render_one(rejected)) <= low


def test_exhausted_redraws_fail_instead_of_looping(tiny, tiny_spec) -> None:
    tiny.settings = dataclasses.replace(tiny.settings, rms_range=(0.999, 1.0), max_resamples=2)
    try:
        result = render_example(tiny, PresetSampler(tiny_spec, seed=0), 3)
    finally:
        tiny.settings = dataclasses.replace(tiny.settings, rms_range=(0.01, 1.0))
    assert result.failed and result.audio is None and result.num_rejected == 3
    assert "3 candidates" in result.error and "(0.999, 1.0)" in result.error


def test_render_preset_keeps_the_preset_and_reports_rms(tiny, tiny_spec) -> None:
    preset = PresetSampler(tiny_spec, seed=0).sample(0)
    result = render_preset(tiny, 42, preset, return_audio=False)
    assert result.index == 42 and result.audio is None and not result.failed
    np.testing.assert_array_equal(result.preset, preset)
    assert result.rms == pytest.approx(clip_rms(tiny.render_one(preset)))


def test_no_cap_redraws_until_a_candidate_passes(tiny, tiny_spec) -> None:
    sampler = PresetSampler(tiny_spec, seed=5)
    rms = sorted(clip_rms(tiny.render_one(sampler.sample(i))) for i in range(12))
    low = rms[-3]  # most first candidates fail
    outcomes = {}
    for cap in (0, -1):
        tiny.settings = dataclasses.replace(tiny.settings, rms_range=(low, 1.0), max_resamples=cap)
        try:
            outcomes[cap] = [render_example(tiny, sampler, i) for i in range(12)]
        finally:
            tiny.settings = dataclasses.replace(tiny.settings, rms_range=(0.01, 1.0))
    assert sum(r.failed for r in outcomes[0]) >= 8
    assert not any(r.failed for r in outcomes[-1])
    assert max(r.num_rejected for r in outcomes[-1]) >= 1
