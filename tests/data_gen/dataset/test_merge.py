"""Index-range parts merge into the folder one run writes, with coverage checks."""

import pytest

from data_gen.dataset.merge import merge
from tests.data_gen.dataset import fakes


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name != ".lock"}


def test_aligned_parts_merge_into_the_full_run(tmp_path):
    kw = dict(size=30, shard_size=8, formats=("tfrecord", "array_record"), fail=(3, 20))
    fakes.run(tmp_path / "full", **kw)
    fakes.run(tmp_path / "b", index_start=16, **kw)
    fakes.run(tmp_path / "a", index_end=16, **kw)
    meta = merge([tmp_path / "b", tmp_path / "a"], tmp_path / "merged")
    assert meta["failed_indices"] == [3, 20]
    assert _files(tmp_path / "merged") == _files(tmp_path / "full")


def test_merge_refuses_gaps_overlaps_and_strangers(tmp_path):
    fakes.run(tmp_path / "a", size=30, index_end=10)
    fakes.run(tmp_path / "c", size=30, index_start=20)
    with pytest.raises(ValueError, match=r"leaves \[10, 20\) uncovered"):
        merge([tmp_path / "a", tmp_path / "c"], tmp_path / "m1")
    fakes.run(tmp_path / "b", size=30, index_start=5, index_end=20)
    with pytest.raises(ValueError, match="overlaps"):
        merge([tmp_path / "a", tmp_path / "b", tmp_path / "c"], tmp_path / "m2")
    with pytest.raises(ValueError, match=r"cover \[0, 10\)"):
        merge([tmp_path / "a"], tmp_path / "m3")
    fakes.run(tmp_path / "s", size=30, index_start=10, index_end=20, seed=8)
    with pytest.raises(ValueError, match="seed"):
        merge([tmp_path / "a", tmp_path / "s", tmp_path / "c"], tmp_path / "m4")
    fakes.run(tmp_path / "ok", size=30, index_start=10, index_end=20)
    meta = merge([tmp_path / "a", tmp_path / "ok", tmp_path / "c"], tmp_path / "m5", copy=True)
    assert meta["complete"] and meta["num_examples"] == 30
