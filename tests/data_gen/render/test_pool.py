"""RenderPool: ordered, worker-count-independent results; crashes and hangs are survived."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from data_gen.render import RenderPool, RenderPoolError, make_renderer, render_example
from data_gen.synths.sampling import PresetSampler
from tests.data_gen.render.faults import faulty_factory


@pytest.fixture(scope="module")
def tiny(tiny_spec, short_settings):
    return make_renderer(tiny_spec, short_settings)


@pytest.fixture(scope="module")
def pool2(tiny_spec, short_settings):
    with RenderPool(tiny_spec, short_settings, num_workers=2, timeout_s=20, chunk_size=3) as pool:
        yield pool


def test_examples_match_in_process_renders_in_input_order(pool2, tiny, tiny_spec) -> None:
    indices = [7, 3, 11, 0, 5, 9, 1, 2, 8, 4]
    results = list(pool2.render_examples(indices, seed=9))
    assert [r.index for r in results] == indices
    sampler = PresetSampler(tiny_spec, seed=9)
    for r in results:
        expected = render_example(tiny, sampler, r.index)
        np.testing.assert_array_equal(r.preset, expected.preset)
        np.testing.assert_array_equal(r.audio, expected.audio)
        assert (r.rms, r.num_rejected, r.failed) == (expected.rms, expected.num_rejected, False)


def test_results_do_not_depend_on_the_number_of_workers(tiny_spec, short_settings) -> None:
    # A tight RMS window forces redraws, which must not depend on which worker drew them.
    settings = dataclasses.replace(short_settings, rms_range=(0.08, 1.0))
    with RenderPool(tiny_spec, settings, num_workers=1, chunk_size=4) as pool1:
        one = list(pool1.render_examples(range(16), seed=2))
    with RenderPool(tiny_spec, settings, num_workers=2, chunk_size=1) as pool2b:
        two = list(pool2b.render_examples(range(16), seed=2))
    assert any(r.num_rejected for r in one)
    for a, b in zip(one, two, strict=True):
        assert (a.index, a.rms, a.num_rejected) == (b.index, b.rms, b.num_rejected)
        np.testing.assert_array_equal(a.audio, b.audio)


def test_presets_are_rendered_as_given(pool2, tiny) -> None:
    presets = np.array([[0.2, 0, 0.0, 0], [0.9, 2, 0.7, 1], [0.5, 1, 0.4, 0]], np.float32)
    results = list(pool2.render_presets(presets, indices=[10, 20, 30]))
    assert [r.index for r in results] == [10, 20, 30]
    assert results[0].rms == 0.0 and not results[0].failed  # silent, but kept: no redraw
    np.testing.assert_array_equal(results[1].audio, tiny.render_one(presets[1]))
    quiet = list(pool2.render_presets(presets, return_audio=False))
    assert all(r.audio is None for r in quiet)
    assert [r.rms for r in quiet] == [r.rms for r in results]


def test_abandoned_job_leaves_the_pool_usable(pool2) -> None:
    job = pool2.render_examples(range(200), seed=0)
    assert next(job).index == 0
    job.close()
    assert [r.index for r in pool2.render_examples([4, 2], seed=0)] == [4, 2]


def test_one_job_at_a_time(pool2) -> None:
    job = pool2.render_examples(range(5), seed=0)
    next(job)
    with pytest.raises(RuntimeError, match="one job at a time"):
        next(pool2.render_examples(range(5), seed=0))
    job.close()


def _first_candidates(spec, seed, faults: dict[int, tuple[str, float]]) -> dict:
    """A fault plan on examples: {index: (kind, times)} -> keyed by each index's first draw."""
    sampler = PresetSampler(spec, seed)
    return {f"ex{i}": (kind, sampler.sample(i), n) for i, (kind, n) in faults.items()}


def test_crashes_are_retried_once_then_failed(tiny_spec, short_settings, tmp_path) -> None:
    inf = float("inf")
    plan = _first_candidates(tiny_spec, 1, {3: ("crash", 1), 5: ("crash", inf), 6: ("raise", inf)})
    factory = faulty_factory(plan, tmp_path)
    with RenderPool(
        tiny_spec, short_settings, num_workers=2, timeout_s=20, chunk_size=4,
        renderer_factory=factory,
    ) as pool:  # fmt: skip
        results = list(pool.render_examples(range(10), seed=1))
        restarts = pool.restarts
    assert [r.index for r in results] == list(range(10))
    by_index = {r.index: r for r in results}
    assert not by_index[3].failed and by_index[3].audio is not None  # crashed once, retried
    assert by_index[5].failed and "crashed (exit code 77)" in by_index[5].error
    assert "retried once" in by_index[5].error and by_index[5].audio is None
    assert by_index[6].failed and "injected failure (ex6)" in by_index[6].error
    assert sum(r.failed for r in results) == 2
    assert restarts == 3  # 3 once, 5 twice; a Python error does not cost a worker
    np.testing.assert_array_equal(by_index[5].preset, PresetSampler(tiny_spec, seed=1).sample(5))


def test_hangs_are_killed_and_the_job_goes_on(tiny_spec, short_settings, tmp_path) -> None:
    plan = _first_candidates(tiny_spec, 1, {2: ("hang", float("inf")), 4: ("hang", 1)})
    with RenderPool(
        tiny_spec, short_settings, num_workers=2, timeout_s=2.0, chunk_size=2,
        renderer_factory=faulty_factory(plan, tmp_path),
    ) as pool:  # fmt: skip
        results = list(pool.render_examples(range(6), seed=1))
        assert pool.restarts == 3
        assert [r.index for r in pool.render_examples([0, 1], seed=1)] == [0, 1]
    assert [r.failed for r in results] == [False, False, True, False, False, False]
    assert "hung: no progress for 2.0 s while rendering" in results[2].error


def test_engine_that_cannot_start_fails_the_pool(tiny_spec, tmp_path) -> None:
    bad = tmp_path / "broken.dsp"
    bad.write_text("process = oops;\n")
    with pytest.raises(RenderPoolError, match="could not start.*broken.dsp.*does not compile"):
        RenderPool(dataclasses.replace(tiny_spec, source=str(bad)), num_workers=1)
