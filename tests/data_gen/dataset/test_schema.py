"""The contract's single definition: tf.Example records via TFDS, bulk decoding, framing, checks."""

import numpy as np
import pytest

from data_gen.dataset import checks, schema, shard_io
from data_gen.dataset.codec import ExampleCodec


def _batch(n=5, p=3, e=4):
    rng = np.random.default_rng(0)
    return {
        "params": rng.random((n, p), np.float32),
        "embedding": rng.standard_normal((n, e)).astype(np.float32),
        "rms": rng.random(n, np.float32),
        "index": np.array([0, 1, 2**40, 7, 300][:n], np.int64),
    }


def test_records_are_tf_examples_the_proto_parses():
    from tensorflow_datasets.proto import tf_example_pb2

    features = schema.make_features(3, 4, {"mel": (2, 3)})
    batch = _batch()
    batch["mel"] = np.arange(30, dtype=np.float32).reshape(5, 2, 3)
    payloads = ExampleCodec(features).encode(batch)
    feat = tf_example_pb2.Example.FromString(payloads[2]).features.feature
    assert sorted(feat) == sorted(["params", "embedding", "rms", "index", "mel"])
    np.testing.assert_array_equal(np.float32(feat["params"].float_list.value), batch["params"][2])
    assert list(feat["index"].int64_list.value) == [2**40]
    assert list(feat["mel"].float_list.value) == list(range(12, 18))
    # TFDS's own decoder reads them back as the FeaturesDict says.
    ex = schema.tfds_features(features).deserialize_example_np(payloads[1])
    np.testing.assert_array_equal(ex["mel"], batch["mel"][1])


def test_features_are_asked_for_by_name_not_position():
    # checks.check_metadata finds the contract's features by name, so a folder may list them in
    # any order; the extras and the preset size must not be read off fixed positions.
    features = schema.make_features(3, 4, {"mel": (2, 3), "audio": (6,)})
    meta = {"features": [f.to_json() for f in reversed(features)]}
    assert schema.extra_names(meta) == ["audio", "mel"]
    assert schema.feature(meta, "params").shape == (3,)
    assert schema.feature(meta, "embedding").shape == (4,)
    with pytest.raises(schema.DatasetError, match="field 'features': no feature 'wav'"):
        schema.feature(meta, "wav")


def test_bulk_decode_matches_tfds_for_every_varint_length():
    features = schema.make_features(3, 4, {"audio": (6,)})
    n = 64
    batch = _batch(5)
    rng = np.random.default_rng(1)
    batch = {
        "params": rng.random((n, 3), np.float32),
        "embedding": rng.standard_normal((n, 4)).astype(np.float32),
        "rms": rng.random(n, np.float32),
        "index": np.concatenate([np.arange(0, 300, 10), 2 ** np.arange(14, 48)]).astype(np.int64),
        "audio": rng.standard_normal((n, 6)).astype(np.float32),
    }
    codec = ExampleCodec(features)
    payloads = codec.encode(batch)
    assert len({len(p) for p in payloads}) > 3  # several record lengths, each its own layout
    out = codec.decode(payloads)
    for name, value in batch.items():
        np.testing.assert_array_equal(out[name], value)
    assert out["index"].dtype == np.int64 and out["params"].dtype == np.float32
    assert all(layout is not None for layout in codec._layouts.values())
    # A subset of features, and records another writer ordered differently (TFDS decodes them).
    np.testing.assert_array_equal(codec.decode(payloads, ["rms"])["rms"], batch["rms"])
    from tensorflow_datasets.proto import tf_example_pb2

    shuffled = []
    for p in payloads[:3]:
        ex = tf_example_pb2.Example.FromString(p)
        other = tf_example_pb2.Example()
        for key in reversed(sorted(ex.features.feature)):
            other.features.feature[key].CopyFrom(ex.features.feature[key])
        shuffled.append(other.SerializeToString())
    np.testing.assert_array_equal(
        ExampleCodec(features).decode(shuffled)["index"], batch["index"][:3]
    )


def test_decode_names_a_bad_record():
    codec = ExampleCodec(schema.make_features(3, 4))
    with pytest.raises(schema.DatasetError, match="shard-x: a record is not a valid tf.Example"):
        codec.decode([b"\xff\xff not a proto"], where="shard-x")


def test_to_rows_names_the_bad_feature():
    features = schema.make_features(3, 4)
    batch = _batch()
    batch["embedding"] = batch["embedding"][:, :2]
    with pytest.raises(ValueError, match="embedding"):
        schema.to_rows(features, batch)
    with pytest.raises(ValueError, match="missing"):
        schema.to_rows(features, {"index": batch["index"]})


def test_tfrecord_framing_and_crc(tmp_path):
    path = tmp_path / "x.tfrecord"
    shard_io.write_shard(path, "tfrecord", [b"abc", b"", b"hello" * 100])
    assert list(shard_io.read_tfrecord(path)) == [b"abc", b"", b"hello" * 100]
    data = path.read_bytes()
    assert data[:8] == (3).to_bytes(8, "little")
    # CRC-32C check value (RFC 3720) and TensorFlow's mask: rotate right by 15, add 0xa282ead8.
    crc = 0xE3069283
    assert (
        shard_io.masked_crc32c(b"123456789")
        == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    )
    damaged = bytearray(data)
    damaged[13] ^= 1
    path.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="corrupt data CRC"):
        list(shard_io.read_tfrecord(path))
    assert not list(tmp_path.glob("*.tmp"))


def test_array_record_shard_roundtrip(tmp_path):
    path = tmp_path / "x.array_record"
    shard_io.write_shard(path, "array_record", [b"a", b"bc"])
    assert shard_io.read_array_record(path, expected=2) == [b"a", b"bc"]
    with pytest.raises(schema.DatasetError, match=r"x.array_record: 2 records, but the metadata"):
        shard_io.read_array_record(path, expected=3)


def test_metadata_checks(tmp_path):
    with pytest.raises(FileNotFoundError, match="metadata.json"):
        checks.read_metadata(tmp_path)
    meta = schema.build_metadata(**_kwargs())
    schema.write_metadata(tmp_path, meta)
    with pytest.raises(ValueError, match="incomplete"):
        checks.read_metadata(tmp_path)
    assert checks.read_metadata(tmp_path, require_complete=False)["seed"] == 1
    other = {**meta, "seed": 2}
    assert schema.identity_mismatches(meta, other) == ["seed (folder has 1, asked for 2)"]
    with pytest.raises(ValueError, match="formats"):
        schema.build_metadata(**{**_kwargs(), "formats": ["parquet"]})
    assert schema.build_metadata(**{**_kwargs(), "formats": ["tfrecord", "array_record"]})[
        "formats"
    ] == ["array_record", "tfrecord"]  # ArrayRecord first: TFDS reads the primary format


def test_old_layout_names_the_folder_and_the_upgrade_command(tmp_path):
    (tmp_path / "metadata.json").write_text('{"format_version": 1, "complete": true}')
    with pytest.raises(schema.DatasetError) as e:
        checks.read_metadata(tmp_path)
    assert str(tmp_path) in str(e.value)
    assert f"python -m data_gen.dataset.upgrade {tmp_path}" in str(e.value)


def _kwargs():
    return dict(
        synth={}, synth_fingerprint="x", render={}, audio_model=dict.fromkeys(
            ("name", "embedding_dim", "sample_rate", "version"), 1),
        seed=1, split="train", features=schema.make_features(2, 2), index_start=0, index_end=4,
        dataset_size=4, formats=["tfrecord"], shard_size=2, created_by="test",
    )  # fmt: skip
