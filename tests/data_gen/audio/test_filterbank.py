"""Filterbanks and DCT against loop implementations of the published formulas, in float64."""

import math

import numpy as np
import pytest

from data_gen.audio.filterbank import dct_ortho, htk_mel_banks, kaldi_mel_banks


def _kaldi_reference(num_bins, n_fft, sample_rate, low, high):
    """Kaldi's MelBanks (mel-banks.cc) without VTLN, one weight at a time."""

    def mel(f):
        return 1127.0 * math.log(1.0 + f / 700.0)

    if high <= 0:
        high += sample_rate / 2
    step = (mel(high) - mel(low)) / (num_bins + 1)
    out = np.zeros((num_bins, n_fft // 2 + 1))
    for m in range(num_bins):
        left, center, right = (mel(low) + (m + j) * step for j in range(3))
        for i in range(n_fft // 2):
            b = mel(i * sample_rate / n_fft)
            if left < b < right:
                out[m, i] = (
                    (b - left) / (center - left) if b <= center else (right - b) / (right - center)
                )
    return out


def _htk_reference(num_bins, n_fft, sample_rate, low, high):
    """Triangles linear in Hz between HTK-mel-spaced edges, at linspace(0, sr // 2, n_fft/2 + 1)."""
    to_mel = lambda f: 2595.0 * math.log10(1.0 + f / 700.0)
    to_hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    edges = [
        to_hz(to_mel(low) + k * (to_mel(high) - to_mel(low)) / (num_bins + 1))
        for k in range(num_bins + 2)
    ]
    n_freqs = n_fft // 2 + 1
    out = np.zeros((num_bins, n_freqs))
    for m in range(num_bins):
        for i in range(n_freqs):
            f = i * (sample_rate // 2) / (n_freqs - 1)
            up = (f - edges[m]) / (edges[m + 1] - edges[m])
            down = (edges[m + 2] - f) / (edges[m + 2] - edges[m + 1])
            out[m, i] = max(0.0, min(up, down))
    return out


@pytest.mark.parametrize(
    "args",
    [
        (128, 1024, 32000, 0.0, 15000.0),  # EfficientAT eval
        (128, 1024, 32000, 0.0, 16000.0),  # synth-proxy MelSTFT
        (23, 512, 16000, 20.0, -400.0),  # negative high_freq counts from Nyquist
    ],
)
def test_kaldi_banks_match_formula(args):
    banks = kaldi_mel_banks(*args)
    assert banks.dtype == np.float32 and banks.shape == (args[0], args[1] // 2 + 1)
    np.testing.assert_allclose(banks, _kaldi_reference(*args), atol=2e-6)
    assert np.all(banks[:, -1] == 0.0)
    assert kaldi_mel_banks(*args, with_nyquist=False).shape == (args[0], args[1] // 2)


def test_kaldi_banks_are_unit_peaked_triangles():
    banks = kaldi_mel_banks(128, 1024, 32000, 0.0, 15000.0).astype(np.float64)
    assert banks.max() <= 1.0 and banks.min() >= 0.0
    # Low filters are narrower than a bin and may miss their peak; wider ones reach close to 1.
    assert np.all(banks.max(axis=1) > 0.0)
    assert np.all(banks[40:].max(axis=1) > 0.6)
    # Peaks move upward in frequency; bins above 15 kHz (480 * 31.25 Hz) get nothing.
    assert np.all(np.diff(banks.argmax(axis=1)) >= 0)
    assert np.all(banks[:, 481:] == 0.0)


def test_kaldi_banks_reject_bad_range():
    with pytest.raises(ValueError, match="high_freq"):
        kaldi_mel_banks(128, 1024, 32000, 0.0, 17000.0)


def test_htk_banks_match_formula():
    args = (128, 2048, 44100, 20.0, 16000.0)
    np.testing.assert_allclose(htk_mel_banks(*args), _htk_reference(*args), atol=2e-6)


def test_dct_ortho_matches_formula_and_is_orthonormal():
    n_in, n_out = 128, 40
    ref = np.array(
        [
            [
                math.cos(math.pi / n_in * (n + 0.5) * k)
                * math.sqrt((1.0 if k == 0 else 2.0) / n_in)
                for k in range(n_out)
            ]
            for n in range(n_in)
        ]
    )
    np.testing.assert_allclose(dct_ortho(n_out, n_in), ref, atol=1e-6)
    full = dct_ortho(n_in, n_in).astype(np.float64)
    np.testing.assert_allclose(full.T @ full, np.eye(n_in), atol=1e-5)
