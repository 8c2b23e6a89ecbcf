"""Chunking and routing by the spec's routing_param: chunks grouped by key, sent to workers that
already have it."""

from __future__ import annotations

import collections
import types

import numpy as np
import pytest

from data_gen.render import RenderPool
from data_gen.render.job import Job, Limits
from data_gen.synths.registry import get_spec


class FakeWorker:
    """What the job's dispatcher sees of a worker, recording the chunks it is sent."""

    def __init__(self, keys=()) -> None:
        self.ready = True
        self.items = collections.deque()
        self.keys = set(keys)
        self.deadline = float("inf")
        self.sent = []
        self.conn = types.SimpleNamespace(send=self.sent.append)


def make_job(keys, workers, chunk_size=2, window=64):
    limits = Limits(chunk_size=chunk_size, window=window, timeout_s=1.0, startup_timeout_s=1.0)
    n = len(keys)
    presets = np.zeros((n, 1), np.float32)
    indices = np.arange(100, 100 + n)
    return Job(workers, limits, None, "presets", None, True, indices, presets, keys.__getitem__)


def test_chunks_group_by_key_in_input_order() -> None:
    job = make_job([0, 1, 0, 0, 1, 2, 0], [])
    job._fill()
    chunks = [[(it.pos, it.key) for it in chunk] for chunk in job.pending]
    assert chunks == [
        [(0, 0), (2, 0)],
        [(1, 1), (4, 1)],
        [(3, 0), (6, 0)],
        [(5, 2)],
    ]
    assert job.pending[0][0].index == 100


def test_window_bounds_how_far_ahead_work_is_cut() -> None:
    job = make_job([None] * 100, [], chunk_size=4, window=16)
    job._fill()
    assert job.filled == 16 and job.starved
    job.consumed = 10
    job._fill()
    assert job.filled == 24 and job.starved  # whole steps of window // 2, never past the window


def test_dispatch_prefers_a_worker_that_has_the_key() -> None:
    has_one, has_zero = FakeWorker(keys={1}), FakeWorker(keys={0})
    job = make_job([0, 0, 1, 1, 0, 0, 1, 1], [has_one, has_zero], chunk_size=2)
    job._fill()
    job._dispatch()
    sent_positions = [pos for message in has_one.sent for pos, *_ in message[3]]
    assert sent_positions == [2, 3, 6, 7]  # the key-1 chunks, as sent over the pipe
    assert [it.pos for it in has_zero.items] == [0, 1, 4, 5]
    assert not job.pending  # 4 chunks, 2 per worker


def test_dispatch_prefers_keys_no_worker_has_before_stealing() -> None:
    fresh, busy = FakeWorker(), FakeWorker(keys={3})
    busy.ready = False  # holds key 3 but takes no work now
    job = make_job([3, 3, 5, 5, 3, 3], [fresh, busy], chunk_size=2)
    job._fill()
    job._dispatch()
    # Key 5 first (nobody has it), then the oldest chunk of key 3; two chunks fill the worker.
    assert [it.pos for it in fresh.items] == [2, 3, 0, 1]
    assert [[it.pos for it in chunk] for chunk in job.pending] == [[4, 5]]


def test_dispatch_falls_back_to_the_oldest_chunk() -> None:
    fresh = FakeWorker()
    job = make_job([3, 3, 5], [fresh], chunk_size=2)
    job._fill()
    job._dispatch()
    assert [it.pos for it in fresh.items] == [0, 1, 2] and fresh.keys == {3, 5}


@pytest.mark.slow
def test_dx7_pool_compiles_each_algorithm_once(short_settings) -> None:
    spec = get_spec("dx7")
    presets = _dx7_presets(spec, [0, 7, 0, 7, 0, 7])
    assert spec.routing_param == "algorithm"
    with RenderPool(spec, short_settings, num_workers=1, chunk_size=2) as pool:
        results = list(pool.render_presets(presets))
        assert pool.compiles == 2
    assert [r.index for r in results] == list(range(6))
    assert all(not r.failed and np.all(np.isfinite(r.audio)) for r in results)


def _dx7_presets(spec, categories):
    from data_gen.synths.sampling import PresetSampler

    presets = PresetSampler(spec, seed=4).sample_batch(np.arange(len(categories)))
    presets[:, spec.used_position("algorithm")] = categories
    return presets
