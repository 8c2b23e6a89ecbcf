"""Optional per-example `audio` and `mel` features."""

import dataclasses

import numpy as np
import pytest
import torch

from data_gen.audio.resample import resample
from data_gen.dataset import reader
from data_gen.dataset.options import Part, WriterOptions
from data_gen.dataset.synthetic import generate
from jaxproxy.mel import ssm_log_mel
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
        tmp_path, fakes.tiny_spec(), settings, model, Part("ssm", 3, seed=1),
        WriterOptions(extras=("mel",), batch_size=4, pool_factory=fakes.FakePool, progress=False),
    )  # fmt: skip
    assert meta["features"][-1]["shape"] == [128, 1 + (settings.num_samples - 1) // 512]
    _, rows = reader.read_examples(tmp_path)
    # Each row's mel is the SSM log-mel of that row's own clip, computed here by jaxproxy's numpy
    # front end (written apart from data_gen's torch one; they agree within float32 rounding).
    clips = np.stack([fakes.fake_audio(p, settings) for p in rows["params"]])
    np.testing.assert_allclose(rows["mel"], ssm_log_mel(clips), rtol=5e-4, atol=2e-3)
    assert rows["mel"].max() > -80  # dB, not silence
    assert np.abs(rows["mel"][0] - rows["mel"][1]).max() > 1  # the clips differ, so would a mix-up


def test_mel_of_another_rate_is_resampled_to_32k_and_unknown_extras_are_refused(tmp_path):
    settings = fakes.SETTINGS
    assert settings.sample_rate != 32000
    meta = fakes.run(tmp_path / "a", size=3, extras=("mel",))
    samples = -(-settings.num_samples * 32000 // settings.sample_rate)
    assert meta["features"][-1]["shape"] == [128, 1 + (samples - 1) // 512]
    _, rows = reader.read_examples(tmp_path / "a")
    clips = np.stack([fakes.fake_audio(p, settings) for p in rows["params"]])
    at_32k = resample(torch.from_numpy(clips), settings.sample_rate, 32000).numpy()
    np.testing.assert_allclose(rows["mel"], ssm_log_mel(at_32k), rtol=5e-4, atol=2e-3)
    with pytest.raises(ValueError, match="unknown extra"):
        fakes.run(tmp_path / "b", size=3, extras=("wav",))
