"""Log-mel front ends against a float64 numpy reimplementation of EfficientAT's AugmentMelSTFT."""

import math

import numpy as np
import pytest
import torch

from data_gen.audio.filterbank import kaldi_mel_banks
from data_gen.audio.frontend import efficientat_mel, preemphasis, ssm_mel


def _numpy_log_mel(audio, n_fft, win, hop, fmax, log_kind):
    """Pre-emphasis, reflect-padded centred frames, symmetric Hann in n_fft, |rfft|^2, mel, log."""
    x = audio[1:] - 0.97 * audio[:-1]
    x = np.pad(x, n_fft // 2, mode="reflect")
    hann = np.array([0.5 - 0.5 * math.cos(2 * math.pi * n / (win - 1)) for n in range(win)])
    window = np.zeros(n_fft)
    window[(n_fft - win) // 2 : (n_fft - win) // 2 + win] = hann
    num_frames = 1 + (len(x) - n_fft) // hop
    frames = np.stack([x[t * hop : t * hop + n_fft] * window for t in range(num_frames)])
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # [T, F]
    mel = kaldi_mel_banks(128, n_fft, 32000, 0.0, fmax).astype(np.float64) @ power.T
    if log_kind == "efficientat":
        return (np.log(mel + 1e-5) + 4.5) / 5.0
    return 10.0 * np.log10(np.maximum(mel, 1e-8))


def test_preemphasis_drops_one_sample():
    x = torch.tensor([[1.0, 2.0, 4.0]])
    torch.testing.assert_close(preemphasis(x), torch.tensor([[2.0 - 0.97, 4.0 - 1.94]]))


@pytest.mark.parametrize(
    ("make", "n_fft", "win", "hop", "fmax", "log_kind"),
    [
        (efficientat_mel, 1024, 800, 320, 15000.0, "efficientat"),
        (ssm_mel, 1024, 1024, 512, 16000.0, "db"),
    ],
)
def test_log_mel_matches_numpy(make, n_fft, win, hop, fmax, log_kind):
    rng = np.random.default_rng(0)
    t = np.arange(8000) / 32000
    audio = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    got = make()(torch.from_numpy(audio.astype(np.float32))[None])[0].numpy()
    ref = _numpy_log_mel(audio, n_fft, win, hop, fmax, log_kind)
    assert got.shape == ref.shape == (128, 1 + (8000 - 1) // hop)
    # Compare where the spectrum is well above float32 round-off.
    scale = 0.2 if log_kind == "efficientat" else 1.0  # 1 dB-equivalent in each log
    np.testing.assert_allclose(got, ref, atol=0.002 * scale)


def test_frame_counts_of_the_paper():
    # A 160 ms EfficientAT window gives 16 frames; 5 s through the SSM front end gives 313.
    assert efficientat_mel()(torch.zeros(1, 5120)).shape == (1, 128, 16)
    assert ssm_mel()(torch.zeros(2, 160000)).shape == (2, 128, 313)
    assert efficientat_mel().num_frames(320000) == 1000


def test_silence_is_finite_floor():
    mel = efficientat_mel()(torch.zeros(3, 5120))
    torch.testing.assert_close(mel, torch.full_like(mel, (math.log(1e-5) + 4.5) / 5))
    db = ssm_mel()(torch.zeros(1, 4000))
    assert torch.all(db == -80.0)


def test_too_short_is_a_clear_error():
    with pytest.raises(ValueError, match="too short"):
        efficientat_mel()(torch.zeros(1, 100))


def test_front_end_has_no_state_dict():
    assert efficientat_mel().state_dict() == {}
