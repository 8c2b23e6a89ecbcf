"""Tests for open_dataset: refusals on mismatch, bulk and batched reads through TFDS."""

import numpy as np
import pytest

from data_gen.dataset import checks
from jaxproxy.data import DatasetMismatchError, open_dataset
from tests.jaxproxy.fake_data import write_fake_dataset

FEATURES = ("params", "embedding", "rms", "index")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ds") / "train"
    arrays = write_fake_dataset(folder, num_examples=50, num_shards=3)
    return folder, arrays


def test_open_with_matching_expectations(written):
    folder, _ = written
    ds = open_dataset(
        folder,
        expect_synth="fakesynth",
        expect_synth_fingerprint=checks.read_metadata(folder)["synth_fingerprint"],
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
    with pytest.raises(DatasetMismatchError, match=f"train.*{field}.*expects"):
        open_dataset(folder, **kwargs)


def test_load_arrays_and_read_range_match_written(written):
    folder, arrays = written
    ds = open_dataset(folder)
    loaded = ds.load_arrays(FEATURES)
    for name in FEATURES:
        np.testing.assert_array_equal(loaded[name], arrays[name])
    part = ds.read_range(13, 41, ("embedding",))
    np.testing.assert_array_equal(part["embedding"], arrays["embedding"][13:41])


def test_read_batches_through_the_tfds_data_source(written):
    folder, arrays = written
    ds = open_dataset(folder)
    positions = np.array([49, 0, 17, 17, 33])
    rows = ds.read(positions, ("params", "index"))
    np.testing.assert_array_equal(rows["index"], positions)
    np.testing.assert_array_equal(rows["params"], arrays["params"][positions])


def test_layout_from_synth_spec(written):
    folder, _ = written
    layout = open_dataset(folder).layout
    assert layout.n_used == 5
    assert list(layout.cat_cards) == [3, 4]
