"""data_gen.inspect: statistics and the NaN/inf check."""

import numpy as np

from data_gen import inspect
from data_gen.dataset.options import Part, WriterOptions
from data_gen.dataset.production import build_generation_metadata
from data_gen.dataset.writer import DatasetWriter
from tests.data_gen.dataset import fakes


def test_stats_and_ok_status(tmp_path, capsys):
    fakes.run(tmp_path, size=12)
    assert inspect.main([str(tmp_path), "--render", "0"]) == 0
    out = capsys.readouterr().out
    assert "examples 12 in 2 shard files" in out and "OK" in out
    assert "embedding  [6]" in out


def test_nonfinite_values_fail(tmp_path, capsys):
    meta = build_generation_metadata(
        fakes.tiny_spec(),
        fakes.SETTINGS,
        fakes.FakeModel(),
        Part("val", 2, seed=0),
        WriterOptions(),
    )
    writer = DatasetWriter(tmp_path, meta)
    writer.write_batch({
        "params": np.zeros((2, 4), np.float32),
        "embedding": np.array([[0, 1, 2, 3, 4, 5], [0, np.inf, 0, 0, np.nan, 0]], np.float32),
        "rms": np.ones(2, np.float32),
        "index": np.arange(2),
    })  # fmt: skip
    writer.close()
    assert inspect.main([str(tmp_path), "--render", "0"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out
    line = next(x for x in out.splitlines() if x.strip().startswith("embedding"))
    assert line.split()[-1] == "2"


def test_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert inspect.main([str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "nope: no such dataset folder" in err and len(err.strip().splitlines()) == 1
