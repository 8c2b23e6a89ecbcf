"""Record schema: raw rows, hand-encoded tf.Example against the proto, TFRecord framing."""

import numpy as np
import pytest

from data_gen.dataset import schema, shard_io


def _batch(n=5, p=3, e=4):
    rng = np.random.default_rng(0)
    return {
        "params": rng.random((n, p), np.float32),
        "embedding": rng.standard_normal((n, e)).astype(np.float32),
        "rms": rng.random(n, np.float32),
        "index": np.array([0, 1, 2**40, 7, -3][:n], np.int64),
    }


def test_raw_rows_roundtrip_and_layout():
    features = schema.make_features(3, 4)
    rows = schema.to_rows(features, _batch())
    payloads = schema.encode_raw(rows)
    assert len(payloads[0]) == 4 * 3 + 4 * 4 + 4 + 8  # packed, no padding
    # The contract: the little-endian concatenation of the features in metadata order.
    first = _batch()
    expected = (
        first["params"][0].tobytes() + first["embedding"][0].tobytes()
        + first["rms"][:1].tobytes() + first["index"][:1].tobytes()
    )  # fmt: skip
    assert payloads[0] == expected
    back = schema.decode_raw(features, payloads)
    np.testing.assert_array_equal(back, rows)


def test_tf_example_parses_with_the_proto():
    from tensorflow_datasets.proto import tf_example_pb2

    features = schema.make_features(3, 4, {"mel": (2, 3)})
    batch = _batch()
    batch["mel"] = np.arange(30, dtype=np.float32).reshape(5, 2, 3)
    rows = schema.to_rows(features, batch)
    payloads = schema.encode_examples(features, rows)
    example = tf_example_pb2.Example.FromString(payloads[2])
    feat = example.features.feature
    assert sorted(feat) == sorted(["params", "embedding", "rms", "index", "mel"])
    np.testing.assert_array_equal(np.float32(feat["params"].float_list.value), batch["params"][2])
    assert list(feat["index"].int64_list.value) == [2**40]
    assert list(feat["mel"].float_list.value) == list(range(12, 18))
    # Negative int64 uses the 10-byte two's complement varint protobuf expects.
    assert tf_example_pb2.Example.FromString(payloads[4]).features.feature[
        "index"
    ].int64_list.value == [-3]
    np.testing.assert_array_equal(schema.decode_examples(features, payloads), rows)


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
    assert shard_io.read_array_record(path) == [b"a", b"bc"]


def test_metadata_checks(tmp_path):
    with pytest.raises(FileNotFoundError, match="metadata.json"):
        schema.read_metadata(tmp_path)
    meta = schema.build_metadata(
        synth={}, synth_fingerprint="x", render={}, audio_model=dict.fromkeys(
            ("name", "embedding_dim", "sample_rate", "version"), 1),
        seed=1, split="train", features=schema.make_features(2, 2), index_start=0, index_end=4,
        dataset_size=4, formats=["tfrecord"], shard_size=2, created_by="test",
    )  # fmt: skip
    schema.write_metadata(tmp_path, meta)
    with pytest.raises(ValueError, match="incomplete"):
        schema.read_metadata(tmp_path)
    assert schema.read_metadata(tmp_path, require_complete=False)["seed"] == 1
    other = {**meta, "seed": 2}
    assert schema.identity_mismatches(meta, other) == ["seed (folder has 1, asked for 2)"]
    with pytest.raises(ValueError, match="formats"):
        schema.build_metadata(**{**_kwargs(meta), "formats": ["parquet"]})


def _kwargs(meta):
    return dict(
        synth={}, synth_fingerprint="x", render={}, audio_model=meta["audio_model"], seed=1,
        split="train", features=schema.make_features(2, 2), index_start=0, index_end=4,
        dataset_size=4, formats=["tfrecord"], shard_size=2, created_by="test",
    )  # fmt: skip
