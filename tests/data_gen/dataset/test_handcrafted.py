"""Given preset vectors go through the same writer; RMS-out presets are dropped and reported."""

import json

import numpy as np
import pytest

from data_gen.dataset import reader
from data_gen.dataset.handcrafted import write_preset_set
from data_gen.dataset.options import WriterOptions
from tests.data_gen.dataset import fakes

OPTIONS = WriterOptions(shard_size=2, batch_size=4, pool_factory=fakes.FakePool, progress=False)


def test_preset_set_written_as_given_with_drops_reported(tmp_path):
    spec = fakes.tiny_spec()
    presets = np.array(
        [[0.5, 0.25, 0, 1], [0.0, 0.5, 1, 0], [0.9, 1.0, 2, 1], [0.001, 0.0, 0, 0], [0.3, 0, 1, 1]],
        np.float32,
    )
    report = write_preset_set(
        tmp_path,
        spec,
        fakes.SETTINGS,
        fakes.FakeModel(),
        presets,
        OPTIONS,
        names=list("abcde"),
        processing_report={"num_input": 7},
    )
    assert [d["name"] for d in report["dropped_at_render"]] == ["b", "d"]  # silent presets
    assert "rms" in report["dropped_at_render"][0]["reason"]
    assert json.loads((tmp_path / "preset_report.json").read_text()) == report
    meta, rows = reader.read_examples(tmp_path)
    assert meta["failed_indices"] == [1, 3] and meta["num_examples"] == 3
    np.testing.assert_array_equal(rows["params"], presets[[0, 2, 4]])  # no redraw, no change
    assert rows["index"].tolist() == [0, 2, 4]
    other = presets.copy()
    other[0, 0] = 0.6
    with pytest.raises(Exception, match="preset_set_sha256"):
        write_preset_set(
            tmp_path,
            spec,
            fakes.SETTINGS,
            fakes.FakeModel(),
            other,
            OPTIONS,
        )
