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


def test_jaxproxy_imports_the_one_contract():
    import jaxproxy.data.dataset as reader

    assert reader.schema is schema and reader.ExampleCodec is ExampleCodec
    import importlib.util

    assert importlib.util.find_spec("jaxproxy.data.records") is None
