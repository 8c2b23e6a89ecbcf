"""Damaged or edited folders on the training side: refused before use, naming file and field."""

import json
import shutil
import warnings

import numpy as np
import pytest

from data_gen.dataset import checks, schema, shard_io
from jaxproxy import sharding
from jaxproxy.data import DatasetError, make_train_iterator, open_dataset
from tests.jaxproxy.fake_data import write_fake_dataset


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ds") / "pristine"
    write_fake_dataset(folder, num_examples=64, num_shards=4)
    return folder


@pytest.fixture
def folder(pristine, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(pristine, copy)
    return copy


def _shard(folder, k=1):
    return next(folder.glob(f"*.array_record-{k:05d}-of-*"))


def _edit(folder, fn):
    meta = json.loads((folder / "metadata.json").read_text())
    fn(meta)
    (folder / "metadata.json").write_text(json.dumps(meta))


def test_shard_with_half_its_records_is_refused_at_open(folder):
    path = _shard(folder)
    payloads = shard_io.read_shard(path, "array_record")
    path.unlink()
    shard_io.write_shard(path, "array_record", payloads[:8])
    with pytest.raises(DatasetError, match=f"{path.name}: 8 records, but the metadata says 16"):
        open_dataset(folder)


@pytest.mark.parametrize("damage", ["truncate", "empty"])
def test_truncated_or_empty_shard_is_named_at_open(folder, damage):
    path = _shard(folder)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"")
    with pytest.raises(DatasetError, match=path.name):
        open_dataset(folder)


@pytest.mark.parametrize("mode", ["device", "stream"])
def test_flipped_bytes_are_named_by_both_training_paths(folder, mode):
    path = _shard(folder, 2)
    data = bytearray(path.read_bytes())
    # Inside a middle record (open reads the first and last ones only).
    mid = data.find(shard_io.read_array_record(path)[8]) + 20
    data[mid : mid + 8] = bytes(b ^ 0xFF for b in data[mid : mid + 8])
    path.write_bytes(bytes(data))
    ds = open_dataset(folder)  # the index, size and end records are intact: reading shows it
    mesh = sharding.make_mesh()
    with pytest.raises(DatasetError, match=path.name):
        it = make_train_iterator(ds, mesh=mesh, global_batch=64, seed=0, mode=mode)
        next(it)


def test_categorical_out_of_range_is_refused_on_read(folder):
    from data_gen.synths.spec import SynthSpec

    def narrow(meta):  # lfo_shape: 4 -> 3 values, fingerprint recomputed (a consistent edit)
        params = meta["synth"]["params"]
        p = next(p for p in params if p["name"] == "lfo_shape")
        p.update(values=p["values"][:3], weights=[1 / 3] * 3, cardinality=3)
        meta["synth"] = SynthSpec.from_json(meta["synth"]).to_json()
        meta["synth_fingerprint"] = SynthSpec.from_json(meta["synth"]).fingerprint()

    _edit(folder, narrow)
    ds = open_dataset(folder)
    with pytest.raises(DatasetError, match=r"params\[4\].*cardinality 3"):
        ds.load_arrays()
    with pytest.raises(DatasetError, match=r"not valid indices.*in fakesynth_fake-train.array_"):
        ds.read(np.arange(64))


def test_stored_fingerprint_is_recomputed(folder):
    def edit(meta):
        p = next(p for p in meta["synth"]["params"] if p["name"] == "lfo_shape")
        p["cardinality"] = 3  # its 4 values stay

    _edit(folder, edit)
    with pytest.raises(DatasetError, match="field 'synth' was edited"):
        open_dataset(folder)


def test_missing_shard_entry_breaks_coverage(folder):
    def drop(meta):
        meta["shards"] = [s for s in meta["shards"] if s["index_start"] != 16]
        meta["num_examples"] = 48

    _edit(folder, drop)
    with pytest.raises(DatasetError, match="every index exactly once"):
        open_dataset(folder)


def test_dataset_info_must_agree_with_the_metadata(folder):
    info = json.loads((folder / schema.DATASET_INFO_FILE).read_text())
    info["splits"][0]["shardLengths"][0] = "15"
    (folder / schema.DATASET_INFO_FILE).write_text(json.dumps(info))
    with pytest.raises(DatasetError, match="shardLengths"):
        open_dataset(folder)


def _train_batches(ds, mode, steps=2):
    it = make_train_iterator(ds, mesh=sharding.make_mesh(), global_batch=16, seed=0, mode=mode)
    return [next(it) for _ in range(steps)]


@pytest.mark.parametrize("mode", ["auto", "stream"])
def test_shard_copied_over_another_is_refused_by_training(folder, mode):
    # 16 duplicated rows and shard 2's rows lost, if read: refused at open, naming the copy.
    shutil.copyfile(_shard(folder, 1), _shard(folder, 2))
    with pytest.raises(DatasetError, match=f"{_shard(folder, 2).name}: indices not increasing"):
        _train_batches(open_dataset(folder), mode)


def _without_digests(meta):
    for shard in meta["shards"]:
        for key in checks.DIGEST_KEYS:
            del shard[key]


@pytest.mark.parametrize("mode", ["device", "stream"])
def test_every_batch_read_has_its_indices_checked(folder, mode):
    # Records out of order inside a shard, first and last in place, and no digests to compare:
    # open passes (as for a folder written before digests); the batches that read them do not.
    _edit(folder, _without_digests)
    path = _shard(folder, 1)
    payloads = shard_io.read_shard(path, "array_record")
    payloads[3], payloads[9] = payloads[9], payloads[3]
    path.unlink()
    shard_io.write_shard(path, "array_record", payloads)
    with pytest.warns(schema.DatasetWarning, match="no shard digests"):
        ds = open_dataset(folder)
    with pytest.raises(DatasetError, match=f"{path.name}: indices not increasing within .16, 32"):
        _train_batches(ds, mode, steps=4)  # 4 batches of 16: every position once


def test_shard_of_another_dataset_under_the_same_name_is_refused_at_open(folder, tmp_path):
    other = tmp_path / "seed13"
    write_fake_dataset(other, num_examples=64, num_shards=4, seed=13)  # same indices and sizes
    path = _shard(folder, 2)
    shutil.copyfile(_shard(other, 2), path)
    with pytest.raises(DatasetError, match=f"{path.name}: .*ends_sha256"):
        open_dataset(folder)


def test_folder_without_digests_opens_with_a_warning_and_upgrade_adds_them(folder):
    from data_gen.dataset.upgrade import add_digests

    written = json.loads((folder / "metadata.json").read_text())["shards"]
    _edit(folder, _without_digests)
    with pytest.warns(schema.DatasetWarning, match="data_gen.dataset.upgrade"):
        assert len(open_dataset(folder).load_arrays()["params"]) == 64
    assert add_digests(folder)["shards"] == written  # what the writer recorded
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        open_dataset(folder)
