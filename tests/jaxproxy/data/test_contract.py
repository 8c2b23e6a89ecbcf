"""The dataset contract end to end: what data_gen's writer writes, jaxproxy's reader reads."""

import numpy as np
import pytest

from jaxproxy.data import open_dataset
from tests.jaxproxy.fake_data import fake_arrays, fake_synth_json

schema = pytest.importorskip("data_gen.dataset.schema")
writer = pytest.importorskip("data_gen.dataset.writer")

FEATURES = ("params", "embedding", "rms", "index")


def test_reader_reads_what_data_gen_writes(tmp_path):
    meta = schema.build_metadata(
        synth=fake_synth_json(),
        synth_fingerprint="contract",
        render={"sample_rate": 32000},
        audio_model={"name": "fake", "embedding_dim": 8, "sample_rate": 32000, "version": "0"},
        seed=0,
        split="train",
        features=schema.make_features(5, 8),
        index_start=0,
        index_end=50,
        dataset_size=50,
        formats=["tfrecord", "array_record"],
        shard_size=16,
        created_by="tests/jaxproxy/data/test_contract.py",
    )
    arrays = fake_arrays(50, 8)
    failed = [7, 30]
    kept = {k: np.delete(v, failed, axis=0) for k, v in arrays.items()}
    out = writer.DatasetWriter(tmp_path, meta)
    out.write_batch(kept, failed_indices=failed)
    out.close()

    ds = open_dataset(tmp_path, expect_synth_fingerprint="contract", expect_embedding_dim=8)
    assert ds.num_examples == 48 and ds.formats == ("array_record", "tfrecord")
    from_array_record = ds.load_arrays(FEATURES)
    from_tfrecord = {}
    for start, chunk in ds.iter_tfrecord_chunks(0, ds.num_examples, FEATURES):
        assert start == 0
        from_tfrecord = chunk
    for name in FEATURES:
        np.testing.assert_array_equal(from_array_record[name], kept[name])
        np.testing.assert_array_equal(from_tfrecord[name], kept[name])
    np.testing.assert_array_equal(ds.read_rows(np.array([40]), ("index",))["index"], [42])
