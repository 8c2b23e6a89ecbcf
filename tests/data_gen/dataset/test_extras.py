"""Optional per-example `audio` and `mel` features."""

import dataclasses

import numpy as np
import pytest

from data_gen.dataset import reader
from data_gen.dataset.synthetic import generate
from tests.data_gen.dataset import fakes


def test_audio_extra_stores_the_clip(tmp_path):
    meta = fakes.run(tmp_path, size=6, extras=("audio",), formats=("array_record",))
    assert meta["features"][-1] == {
        "name": "audio", "dtype": "float32", "shape": [fakes.SETTINGS.num_samples]
    }  # fmt: skip
    _, rows = reader.read_examples(tmp_path)
    for row in rows:
        np.testing.assert_array_equal(row["audio"], fakes.fake_audio(row["params"], fakes.SETTINGS))


def test_mel_extra_is_the_ssm_log_mel(tmp_path):
    settings = dataclasses.replace(fakes.SETTINGS, sample_rate=32000, render_duration=0.2)
    model = fakes.FakeModel()
    model.sample_rate = 32000
    meta = generate(
        tmp_path, fakes.tiny_spec(), settings, model, seed=1, split="ssm", size=3,
        extras=("mel",), batch_size=4, pool_factory=fakes.FakePool, progress=False,
    )  # fmt: skip
    assert meta["features"][-1]["shape"] == [128, 1 + (settings.num_samples - 1) // 512]
    _, rows = reader.read_examples(tmp_path)
    assert np.isfinite(rows["mel"]).all() and rows["mel"].max() > -80  # dB, not silence


def test_mel_of_another_rate_is_resampled_to_32k_and_unknown_extras_are_refused(tmp_path):
    settings = fakes.SETTINGS
    assert settings.sample_rate != 32000
    meta = fakes.run(tmp_path / "a", size=3, extras=("mel",))
    samples = -(-settings.num_samples * 32000 // settings.sample_rate)
    assert meta["features"][-1]["shape"] == [128, 1 + (samples - 1) // 512]
    _, rows = reader.read_examples(tmp_path / "a")
    assert np.isfinite(rows["mel"]).all()
    with pytest.raises(ValueError, match="unknown extra"):
        fakes.run(tmp_path / "b", size=3, extras=("wav",))
