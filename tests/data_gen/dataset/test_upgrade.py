"""Old-layout folders: a clear error naming the folder and command; the command upgrades them."""

import json
import subprocess
import sys

import numpy as np
import pytest
from array_record.python.array_record_module import ArrayRecordWriter

from data_gen.dataset import reader, schema, shard_io
from data_gen.dataset.upgrade import upgrade
from tests.data_gen.dataset import fakes


def _old_folder(folder, arrays, fmts=("array_record", "tfrecord")):
    """What the format_version 1 writer left: raw rows / metadata-order tf.Examples, old names."""
    from tensorflow_datasets.proto import tf_example_pb2

    folder.mkdir()
    spec = fakes.tiny_spec()
    features = schema.make_features(spec.num_used, 6)
    rows = schema.to_rows(features, arrays)
    shards = []
    for fmt in fmts:
        for k, (lo, hi) in enumerate([(0, 8), (8, 12)]):
            name = f"train.{fmt}-{k:05d}-of-00002"
            if fmt == "array_record":
                w = ArrayRecordWriter(str(folder / name), "group_size:1,uncompressed")
                for row in rows[lo:hi]:
                    w.write(row.tobytes())
                w.close()
            else:
                payloads = []
                for row in rows[lo:hi]:
                    ex = tf_example_pb2.Example()
                    for f in features:
                        entry = ex.features.feature[f.name]
                        target = entry.float_list if f.dtype == "float32" else entry.int64_list
                        target.value.extend(np.ravel(row[f.name]).tolist())
                    payloads.append(ex.SerializeToString())
                shard_io.write_shard(folder / name, "tfrecord", payloads)
            shards.append({"file": name, "format": fmt, "index_start": lo, "index_end": hi,
                           "num_examples": hi - lo})  # fmt: skip
    meta = schema.build_metadata(
        synth=spec.to_json(), synth_fingerprint=spec.fingerprint(), render=fakes.SETTINGS.to_json(),
        audio_model={"name": "fake", "embedding_dim": 6, "sample_rate": 8000, "version": "1"},
        seed=3, split="train", features=features, index_start=0, index_end=12, dataset_size=12,
        formats=list(fmts), shard_size=8, created_by="old",
    )  # fmt: skip
    meta.update(format_version=1, complete=True, shards=shards, num_examples=12)
    (folder / "metadata.json").write_text(json.dumps(meta))


def _arrays(n=12):
    rng = np.random.default_rng(0)
    params = rng.random((n, 4), np.float32)
    params[:, 2] = rng.integers(0, 3, n)
    return {"params": params, "embedding": rng.random((n, 6), np.float32),
            "rms": rng.random(n, np.float32), "index": np.arange(n)}  # fmt: skip


@pytest.mark.parametrize("fmts", [("array_record", "tfrecord"), ("tfrecord",)])
def test_old_layout_is_refused_then_upgraded_by_the_named_command(tmp_path, fmts):
    arrays = _arrays()
    folder = tmp_path / "old"
    _old_folder(folder, arrays, fmts)
    with pytest.raises(schema.DatasetError) as e:
        reader.read_examples(folder)
    command = f"python -m data_gen.dataset.upgrade {folder}"
    assert command in str(e.value)
    done = subprocess.run(
        [sys.executable, "-m", "data_gen.dataset.upgrade", str(folder)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    meta, rows = reader.read_examples(folder)
    assert (
        meta["format_version"] == schema.FORMAT_VERSION and (folder / "dataset_info.json").exists()
    )
    for name, value in arrays.items():
        np.testing.assert_array_equal(rows[name], value)
    assert not list(folder.glob("train.*"))  # the old shards are gone
    assert upgrade(folder)["num_examples"] == 12  # a rerun is a no-op


def test_upgrade_says_what_it_did_and_nothing_to_do_on_a_current_folder(tmp_path, capsys):
    from data_gen.dataset.upgrade import main

    folder = tmp_path / "old"
    _old_folder(folder, _arrays())
    assert main([str(folder)]) == 0
    out = capsys.readouterr().out
    assert "upgraded (rewrote the old layout (format_version 1))" in out
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert main([str(folder)]) == 0  # it used to print "upgraded" here too
    out = capsys.readouterr().out
    assert "nothing to do" in out and "upgraded" not in out
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
