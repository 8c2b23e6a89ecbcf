"""Generation with stand-in renderer and model: determinism, failures, refusal, write errors."""

import errno
import json
import os

import numpy as np
import pytest

from data_gen.dataset import reader, shard_io
from data_gen.dataset.options import Part, WriterOptions
from data_gen.dataset.writer import DatasetWriteError
from tests.data_gen.dataset import fakes


def test_generate_writes_the_contract(tmp_path):
    meta = fakes.run(tmp_path, size=20, formats=("tfrecord", "array_record"), fail=(5,))
    assert meta["complete"] and meta["num_examples"] == 19 and meta["failed_indices"] == [5]
    assert [f["name"] for f in meta["features"]] == ["params", "embedding", "rms", "index"]
    names = sorted(s["file"] for s in meta["shards"])
    assert names[0] == "tiny_fake-train.array_record-00000-of-00003"
    assert names[-1] == "tiny_fake-train.tfrecord-00002-of-00003"
    assert (tmp_path / "dataset_info.json").is_file() and (tmp_path / "features.json").is_file()
    on_disk = json.loads((tmp_path / "metadata.json").read_text())
    assert on_disk == meta
    _, tf_rows = reader.read_examples(tmp_path, "tfrecord")
    _, ar_rows = reader.read_examples(tmp_path, "array_record")
    np.testing.assert_array_equal(tf_rows, ar_rows)
    assert tf_rows["index"].tolist() == [i for i in range(20) if i != 5]
    spec = fakes.tiny_spec()
    spec.check_presets(tf_rows["params"])
    assert np.all((tf_rows["rms"] > 0.01) & (tf_rows["rms"] < 1.0))
    # Presets are reproducible from (seed, index): an accepted first draw equals sample(index).
    from data_gen.synths.sampling import PresetSampler

    first = PresetSampler(spec, 3).sample(0)
    if meta["num_rejected"] == 0:
        np.testing.assert_array_equal(tf_rows["params"][0], first)


def test_same_seed_same_bytes_whatever_shards_and_batches(tmp_path):
    fakes.run(tmp_path / "a", size=23, shard_size=8, batch_size=4, workers=1)
    fakes.run(tmp_path / "b", size=23, shard_size=5, batch_size=4, workers=2)
    _, a = reader.read_examples(tmp_path / "a")
    _, b = reader.read_examples(tmp_path / "b")
    assert a.tobytes() == b.tobytes()
    fakes.run(tmp_path / "c", size=23, seed=4)
    _, c = reader.read_examples(tmp_path / "c")
    assert not np.array_equal(a["params"], c["params"])


def test_rerun_of_complete_folder_is_a_no_op_and_other_dataset_is_refused(tmp_path):
    fakes.run(tmp_path, size=10)
    # The lock file records each run's process; everything else must stay untouched.
    files = lambda: {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if p.name != ".lock"}  # noqa: E731
    before = files()
    fakes.run(tmp_path, size=10)
    assert files() == before
    with pytest.raises(DatasetWriteError, match=r"different dataset.*seed \(folder has 3"):
        fakes.run(tmp_path, size=10, seed=9)
    with pytest.raises(DatasetWriteError, match="shard_size"):
        fakes.run(tmp_path, size=10, shard_size=3)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x")
    with pytest.raises(DatasetWriteError, match=r"not empty \(notes.txt\).*no metadata.json"):
        fakes.run(other, size=10)


def test_write_error_keeps_completed_shards_and_rerun_finishes(tmp_path, monkeypatch):
    fakes.run(tmp_path / "ref", size=30)
    real = shard_io.ShardFile.commit
    calls = []

    def flaky(self):
        calls.append(self.path)
        if len(calls) == 3:  # the .tmp is written, then the disk fills up
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self)

    monkeypatch.setattr(shard_io.ShardFile, "commit", flaky)
    with pytest.raises(DatasetWriteError, match=r"No space left.*2 completed shard"):
        fakes.run(tmp_path / "x", size=30)
    monkeypatch.setattr(shard_io.ShardFile, "commit", real)
    assert not list((tmp_path / "x").glob("*.tmp"))  # the failed shard left nothing behind
    meta = json.loads((tmp_path / "x" / "metadata.json").read_text())
    assert not meta["complete"] and len(meta["shards"]) == 2
    fakes.run(tmp_path / "x", size=30)
    _, ref = reader.read_examples(tmp_path / "ref")
    _, got = reader.read_examples(tmp_path / "x")
    assert ref.tobytes() == got.tobytes()


def test_writer_rejects_gaps_and_repeats(tmp_path):
    from data_gen.dataset.production import build_generation_metadata
    from data_gen.dataset.writer import DatasetWriter

    meta = build_generation_metadata(
        fakes.tiny_spec(), fakes.SETTINGS, fakes.FakeModel(), Part("val", 6, seed=0),
        WriterOptions(shard_size=4),
    )  # fmt: skip
    writer = DatasetWriter(tmp_path, meta)
    with pytest.raises(ValueError, match="continue the run at 0"):
        writer.write_batch(None, failed_indices=[1])
    writer.write_batch(None, failed_indices=[0, 1])
    with pytest.raises(ValueError, match="continue the run at 2"):
        writer.write_batch(None, failed_indices=[1])
    writer.abort()


def test_second_writer_on_a_busy_folder_is_refused(tmp_path):
    from data_gen.dataset.production import build_generation_metadata
    from data_gen.dataset.writer import DatasetWriter

    meta = build_generation_metadata(
        fakes.tiny_spec(),
        fakes.SETTINGS,
        fakes.FakeModel(),
        Part("val", 4, seed=0),
        WriterOptions(),
    )
    first = DatasetWriter(tmp_path, meta)
    with pytest.raises(DatasetWriteError, match=rf"is in use by pid {os.getpid()} on "):
        DatasetWriter(tmp_path, meta)
    first.abort()
    DatasetWriter(tmp_path, meta).abort()  # free again


def test_a_synth_that_cannot_start_leaves_no_folder_and_a_complete_one_needs_no_pool(tmp_path):
    from data_gen.dataset.synthetic import generate
    from data_gen.render.worker_set import RenderPoolError

    def refuse(spec, settings, workers, timeout_s):  # as a pool whose plug-in will not load
        raise RenderPoolError("render worker for synth 'tiny' could not start")

    part = Part("train", 16, 3)
    options = WriterOptions(pool_factory=refuse, progress=False, shard_size=8, batch_size=4)
    out = tmp_path / "out"
    with pytest.raises(RenderPoolError):
        generate(out, fakes.tiny_spec(), fakes.SETTINGS, fakes.FakeModel(), part, options)
    assert not out.exists()  # the writer made metadata.json and .lock before the pool started
    done = fakes.run(out, size=16)
    again = generate(out, fakes.tiny_spec(), fakes.SETTINGS, fakes.FakeModel(), part, options)
    assert again == done
