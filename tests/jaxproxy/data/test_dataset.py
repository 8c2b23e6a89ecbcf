"""Tests for open_dataset: refusals on mismatch, bulk and random reads from both shard formats."""

import json
import os

import numpy as np
import pytest

from jaxproxy.data import DatasetMismatchError, open_dataset
from jaxproxy.data.records import METADATA_FILE
from tests.jaxproxy.fake_data import write_fake_dataset

FEATURES = ("params", "embedding", "rms", "index")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ds") / "train"
    arrays = write_fake_dataset(folder, num_examples=50, num_shards=3)
    return folder, arrays


def _only(folder, fmt, dest):
    """A copy of the metadata that lists only one format's shards (shard files are shared)."""
    dest.mkdir()
    with open(os.path.join(folder, METADATA_FILE)) as f:
        meta = json.load(f)
    meta["shards"] = [s for s in meta["shards"] if s["format"] == fmt]
    for s in meta["shards"]:
        os.symlink(os.path.join(folder, s["file"]), dest / s["file"])
    with open(dest / METADATA_FILE, "w") as f:
        json.dump(meta, f)
    return dest


def test_open_with_matching_expectations(written):
    folder, _ = written
    ds = open_dataset(
        folder,
        expect_synth="fakesynth",
        expect_synth_fingerprint="fake0123456789ab",
        expect_audio_model="fake",
        expect_embedding_dim=8,
        expect_num_params=5,
        split="train",
    )
    assert (ds.num_examples, ds.embedding_dim, ds.num_params) == (50, 8, 5)
    assert ds.formats == ("array_record", "tfrecord")
    assert ds.nbytes(("params", "embedding")) == 50 * (5 + 8) * 4


def test_open_parent_folder_with_split(written):
    folder, _ = written
    assert open_dataset(folder.parent, split="train").path == str(folder)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"expect_synth": "dx7"}, "synth.name"),
        ({"expect_synth_fingerprint": "0000"}, "synth_fingerprint"),
        ({"expect_audio_model": "mn04"}, "audio_model.name"),
        ({"expect_embedding_dim": 192}, "audio_model.embedding_dim"),
        ({"expect_num_params": 6}, "params"),
        ({"split": "valid"}, "split"),
    ],
)
def test_mismatch_is_refused_naming_the_field(written, kwargs, field):
    folder, _ = written
    with pytest.raises(DatasetMismatchError, match=f"metadata.json.*{field}.*expects"):
        open_dataset(folder, **kwargs)


def test_missing_shard_is_named(written, tmp_path):
    folder, _ = written
    copy = _only(folder, "array_record", tmp_path / "copy")
    os.remove(copy / "train.array_record-00001-of-00003")
    with pytest.raises(FileNotFoundError, match="array_record-00001-of-00003"):
        open_dataset(copy)


@pytest.mark.parametrize("fmt", ["array_record", "tfrecord"])
def test_load_arrays_and_read_range_match_written(written, tmp_path, fmt):
    folder, arrays = written
    ds = open_dataset(_only(folder, fmt, tmp_path / fmt))
    assert ds.formats == (fmt,)
    loaded = ds.load_arrays(FEATURES)
    for name in FEATURES:
        np.testing.assert_array_equal(loaded[name], arrays[name])
    part = ds.read_range(13, 41, ("embedding",))
    np.testing.assert_array_equal(part["embedding"], arrays["embedding"][13:41])


def test_read_rows_random_access(written):
    folder, arrays = written
    ds = open_dataset(folder)
    positions = np.array([49, 0, 17, 17, 33])
    rows = ds.read_rows(positions, ("params", "index"))
    np.testing.assert_array_equal(rows["index"], positions)
    np.testing.assert_array_equal(rows["params"], arrays["params"][positions])


def test_layout_from_synth_spec(written):
    folder, _ = written
    layout = open_dataset(folder).layout
    assert layout.n_used == 5
    assert list(layout.cat_cards) == [3, 4]
