"""The dataset contract end to end: data_gen's writer -> TFDS itself and jaxproxy's reader."""

import numpy as np
import pytest

from data_gen.dataset import checks, schema, writer
from data_gen.dataset.codec import ExampleCodec
from jaxproxy.data import open_dataset
from tests.jaxproxy.fake_data import fake_arrays, fake_synth_json

FEATURES = ("params", "embedding", "rms", "index")


def _write(folder, formats, extras=None):
    synth = fake_synth_json()
    arrays = fake_arrays(50, 8)
    arrays.update(extras or {})
    meta = schema.build_metadata(
        synth=synth, synth_fingerprint=checks.spec_fingerprint(synth, "test"),
        render={"sample_rate": 32000},
        audio_model={"name": "fake", "embedding_dim": 8, "sample_rate": 32000, "version": "0"},
        seed=0, split="train",
        features=schema.make_features(5, 8, {k: v.shape[1:] for k, v in (extras or {}).items()}),
        index_start=0, index_end=50, dataset_size=50, formats=formats, shard_size=16,
        created_by="tests/jaxproxy/data/test_contract.py",
    )  # fmt: skip
    failed = [7, 30]
    kept = {k: np.delete(v, failed, axis=0) for k, v in arrays.items()}
    out = writer.DatasetWriter(folder, meta)
    out.write_batch(kept, failed_indices=failed)
    out.close()
    return kept


@pytest.mark.parametrize("formats", [["array_record"], ["array_record", "tfrecord"]])
def test_tfds_builder_from_directory_reads_the_folder(tmp_path, formats):
    import tensorflow_datasets as tfds

    mel = np.arange(50 * 6, dtype=np.float32).reshape(50, 2, 3)
    kept = _write(tmp_path, formats, {"mel": mel})
    builder = tfds.builder_from_directory(tmp_path)
    assert builder.info.splits["train"].num_examples == 48
    assert builder.info.metadata["synth"]["name"] == "fakesynth"  # the metadata travels along
    source = builder.as_data_source("train")
    assert len(source) == 48
    for i in (0, 7, 47):
        example = source[i]
        for name in (*FEATURES, "mel"):
            np.testing.assert_array_equal(example[name], kept[name][i])


def test_tfrecord_shards_hold_the_same_tf_examples(tmp_path):
    import tensorflow_datasets as tfds

    from data_gen.dataset import shard_io

    kept = _write(tmp_path, ["tfrecord", "array_record"])
    info = tfds.builder_from_directory(tmp_path).info
    assert info.file_format.value == "array_record"
    assert [f.value for f in info.alternative_file_formats] == ["tfrecord"]
    meta = checks.read_metadata(tmp_path)
    tf_files = sorted(s["file"] for s in meta["shards"] if s["format"] == "tfrecord")
    ar_files = [f.replace("tfrecord", "array_record") for f in tf_files]
    tf_payloads = [p for f in tf_files for p in shard_io.read_tfrecord(tmp_path / f)]
    ar_payloads = [p for f in ar_files for p in shard_io.read_array_record(tmp_path / f)]
    assert tf_payloads == ar_payloads
    # TFDS's own example parser reads the TFRecord payloads.
    first = info.features.deserialize_example_np(tf_payloads[5])
    np.testing.assert_array_equal(first["params"], kept["params"][5])


def test_reader_reads_what_data_gen_writes(tmp_path):
    kept = _write(tmp_path, ["tfrecord", "array_record"])
    ds = open_dataset(tmp_path, expect_embedding_dim=8)
    assert ds.num_examples == 48 and ds.formats == ("array_record", "tfrecord")
    loaded = ds.load_arrays(FEATURES)
    for name in FEATURES:
        np.testing.assert_array_equal(loaded[name], kept[name])
    np.testing.assert_array_equal(ds.read(np.array([40]), ("index",))["index"], [42])


def test_jaxproxy_reads_through_the_one_contract(tmp_path, monkeypatch):
    """Change the record encoding in data_gen's codec only: jaxproxy's reader follows it.

    A reader with its own copy of the contract (its own decoder) would fail here; so would one
    that bypassed the codec for some features.
    """
    encode, decode = ExampleCodec.encode, ExampleCodec.decode

    def scramble(payload: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in payload)

    monkeypatch.setattr(ExampleCodec, "encode", lambda self, batch: [
        scramble(p) for p in encode(self, batch)
    ])  # fmt: skip
    monkeypatch.setattr(ExampleCodec, "decode", lambda self, payloads, *a, **k: decode(
        self, [scramble(p) for p in payloads], *a, **k
    ))  # fmt: skip
    mel = np.arange(50 * 6, dtype=np.float32).reshape(50, 2, 3)
    kept = _write(tmp_path, ["array_record"], {"mel": mel})
    ds = open_dataset(tmp_path, expect_embedding_dim=8)
    loaded = ds.load_arrays((*FEATURES, "mel"))
    for name in (*FEATURES, "mel"):
        np.testing.assert_array_equal(loaded[name], kept[name])
    # The change took effect: the stored records are no longer the plain tf.Examples.
    from data_gen.dataset import shard_io

    first_shard = tmp_path / checks.read_metadata(tmp_path)["shards"][0]["file"]
    stored = next(iter(shard_io.read_array_record(first_shard)))
    plain = encode(ds.codec, {k: v[:1] for k, v in kept.items()})[0]
    assert stored != plain and scramble(stored) == plain
