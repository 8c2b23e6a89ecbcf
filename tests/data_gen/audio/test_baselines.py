"""The paper's baselines: dims, how they relate, what they measure, and edge inputs."""

import numpy as np
import pytest

from data_gen.audio import get_audio_model
from data_gen.audio.filterbank import dct_ortho, htk_mel

RATE = 44100


def _tone(freq, seconds=1.0, amp=0.5):
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(RATE * seconds)) / RATE)).astype(
        np.float32
    )


@pytest.mark.parametrize(("name", "dim"), [("mel128", 128), ("mfcc40", 40), ("mstft", 4071)])
def test_dims_and_rate(name, dim):
    model = get_audio_model(name, device="cpu")
    assert (model.embedding_dim, model.sample_rate) == (dim, RATE)
    emb = model.embed(np.stack([_tone(440.0), _tone(880.0)]))
    assert emb.shape == (2, dim) and emb.dtype == np.float32
    assert not np.allclose(emb[0], emb[1])


def test_mfcc40_is_dct_of_mel128():
    audio = np.stack([_tone(300.0), _tone(3000.0, amp=0.1)])
    mel = get_audio_model("mel128", device="cpu").embed(audio)
    mfcc = get_audio_model("mfcc40", device="cpu").embed(audio)
    np.testing.assert_allclose(mfcc, mel @ dct_ortho(40, 128), rtol=1e-4, atol=1e-4)


def test_mel128_peaks_at_the_tone():
    emb = get_audio_model("mel128", device="cpu").embed(_tone(2000.0)[None])[0]
    # Band centres are equally spaced in HTK mel from 20 Hz to 16 kHz.
    lo, hi = htk_mel(20.0), htk_mel(16000.0)
    expected = (htk_mel(2000.0) - lo) / (hi - lo) * 129 - 1
    assert abs(int(emb.argmax()) - expected) <= 1.0


def test_mstft_resolutions_see_the_tone():
    emb = get_audio_model("mstft", device="cpu").embed(_tone(1000.0)[None])[0]
    start = 0
    for n_fft in (4096, 2048, 1024, 512, 256, 128, 64):
        part = emb[start : start + n_fft // 2 + 1]
        assert abs(part.argmax() * RATE / n_fft - 1000.0) <= RATE / n_fft
        start += n_fft // 2 + 1
    assert start == 4071


@pytest.mark.parametrize("name", ["mel128", "mfcc40", "mstft"])
def test_silence_finite_and_short_input_refused(name):
    model = get_audio_model(name, device="cpu")
    assert np.isfinite(model.embed(np.zeros((1, RATE // 4), np.float32))).all()
    with pytest.raises(ValueError, match="too short"):
        model.embed(np.zeros((1, model.min_samples - 1), np.float32))
