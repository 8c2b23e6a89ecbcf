"""Tests for the record schema: metadata validation, raw and tf.Example decoding, TFRecord CRCs."""

import json
import os

import numpy as np
import pytest

from jaxproxy.data import records
from tests.jaxproxy.fake_data import edit_metadata, fake_arrays, write_fake_dataset


@pytest.fixture()
def folder(tmp_path):
    write_fake_dataset(tmp_path, num_examples=20, formats=("array_record",), num_shards=1)
    return tmp_path


def test_read_metadata_parses_features(folder):
    meta = records.read_metadata(folder)
    assert [f.name for f in meta.features] == ["params", "embedding", "rms", "index"]
    assert meta.record_dtype.itemsize == 4 * 5 + 4 * 8 + 4 + 8  # packed, no padding
    assert meta.num_examples == 20 and meta.split == "train"


def test_missing_metadata_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="metadata.json"):
        records.read_metadata(tmp_path)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"complete": False}, "'complete'.*incomplete"),
        ({"format_version": 2}, "'format_version'.*1.*got 2"),
        ({"audio_model": {"name": "x", "embedding_dim": 9}}, "embedding.shape.*9"),
        ({"features": [{"name": "params", "dtype": "complex64", "shape": [5]}]}, "dtype"),
        ({"features": [{"name": "params", "dtype": "float32", "shape": [4]}]}, "params.shape.*5"),
        ({"num_examples": 21}, "'shards'.*20 examples.*21"),
    ],
)
def test_bad_metadata_is_refused_naming_the_field(folder, changes, match):
    edit_metadata(folder, **changes)
    with pytest.raises(records.DatasetFormatError, match=match) as info:
        records.read_metadata(folder)
    assert "metadata.json" in str(info.value)


def test_missing_field_is_named(folder):
    path = os.path.join(folder, records.METADATA_FILE)
    with open(path) as f:
        meta = json.load(f)
    del meta["synth_fingerprint"]
    with open(path, "w") as f:
        json.dump(meta, f)
    with pytest.raises(records.DatasetFormatError, match="synth_fingerprint"):
        records.read_metadata(folder)


def _features(arrays):
    return [
        records.Feature(n, np.dtype(a.dtype).newbyteorder("<"), a.shape[1:])
        for n, a in arrays.items()
    ]


def test_decode_raw_round_trip():
    arrays = fake_arrays(7, 3, seed=4)
    dtype = records.record_dtype(_features(arrays))
    rows = np.empty(7, dtype)
    for name, arr in arrays.items():
        rows[name] = arr
    decoded = records.decode_raw([r.tobytes() for r in rows], dtype)
    for name, arr in arrays.items():
        np.testing.assert_array_equal(decoded[name], arr)
        assert decoded[name].flags.c_contiguous
    with pytest.raises(records.DatasetFormatError, match="bytes each"):
        records.decode_raw([rows[0].tobytes()[:-1]], dtype)


def test_tf_example_round_trip():
    arrays = fake_arrays(4, 3, seed=5)
    features = _features(arrays)
    payloads = [
        records.encode_tf_example({n: a[i] for n, a in arrays.items()}, features) for i in range(4)
    ]
    decoded = records.decode_tf_examples(payloads, features)
    for name, arr in arrays.items():
        np.testing.assert_array_equal(decoded[name], arr)
    wrong = [records.Feature("params", np.dtype("<f4"), (6,))]
    with pytest.raises(records.DatasetFormatError, match="expected 6 values"):
        records.decode_tf_examples(payloads, wrong)


def _write_tfrecord(path, payloads):
    with open(path, "wb") as f:
        for p in payloads:
            f.write(records.frame_tfrecord(p))


def test_tfrecord_framing_round_trip_and_offsets(tmp_path):
    payloads = [b"a" * n for n in (0, 1, 100, 7)]
    path = str(tmp_path / "x.tfrecord")
    _write_tfrecord(path, payloads)
    got = list(records.read_tfrecord(path))
    assert [p for _, p in got] == payloads
    # Resuming from a returned offset continues with the following record.
    assert [p for _, p in records.read_tfrecord(path, got[1][0])] == payloads[2:]
    # A known TFRecord masked CRC (TensorFlow's value for the empty string).
    assert records.masked_crc32c(b"") == 0xA282EAD8


@pytest.mark.parametrize(("where", "match"), [(30, "data CRC"), (3, "length CRC")])
def test_corrupted_tfrecord_is_detected(tmp_path, where, match):
    path = str(tmp_path / "x.tfrecord")
    _write_tfrecord(path, [bytes(range(50)), bytes(range(60))])
    with open(path, "r+b") as f:
        f.seek(where)
        byte = f.read(1)
        f.seek(where)
        f.write(bytes([byte[0] ^ 0x01]))
    with pytest.raises(records.DatasetFormatError, match=f"x.tfrecord.*byte 0.*{match}"):
        list(records.read_tfrecord(path))


def test_truncated_tfrecord_is_detected(tmp_path):
    path = str(tmp_path / "x.tfrecord")
    _write_tfrecord(path, [bytes(40)])
    with open(path, "r+b") as f:
        f.truncate(40)
    with pytest.raises(records.DatasetFormatError, match="truncated"):
        list(records.read_tfrecord(path))


def test_tf_example_missing_feature_is_named():
    arrays = fake_arrays(2, 3, seed=6)
    features = _features(arrays)
    payloads = [
        records.encode_tf_example({n: a[i] for n, a in arrays.items()}, features[:1])
        for i in range(2)
    ]
    with pytest.raises(records.DatasetFormatError, match="record 0, feature 'embedding'.*got 0"):
        records.decode_tf_examples(payloads, features)
