"""Mel filterbanks (kaldi and HTK triangles) and the orthonormal DCT-II matrix, in numpy."""

import numpy as np


def kaldi_mel(freq_hz: np.ndarray | float) -> np.ndarray:
    """Kaldi's mel scale, 1127 ln(1 + f / 700)."""
    return 1127.0 * np.log1p(np.asarray(freq_hz, dtype=np.float64) / 700.0)


def htk_mel(freq_hz: np.ndarray | float) -> np.ndarray:
    """The HTK mel scale, 2595 log10(1 + f / 700)."""
    return 2595.0 * np.log10(1.0 + np.asarray(freq_hz, dtype=np.float64) / 700.0)


def htk_mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of `htk_mel`."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def kaldi_mel_banks(
    num_bins: int,
    n_fft: int,
    sample_rate: float,
    low_freq: float,
    high_freq: float,
    *,
    with_nyquist: bool = True,
) -> np.ndarray:
    """Kaldi's mel triangles without VTLN warping, as EfficientAT and synth-proxy build them.

    Triangles are linear in mel, with `num_bins + 2` edges equally spaced between mel(low_freq) and
    mel(high_freq), evaluated at the FFT bin frequencies i * sample_rate / n_fft for i < n_fft / 2;
    peak 1, no area normalisation. A non-positive `high_freq` counts down from Nyquist (as kaldi).

    Returns:
        float32[num_bins, n_fft // 2 + 1] (the Nyquist column is zero) when `with_nyquist`, else
        float32[num_bins, n_fft // 2] as kaldi returns it.
    """
    if num_bins < 1 or n_fft < 2 or n_fft % 2:
        raise ValueError(
            f"kaldi_mel_banks: need num_bins >= 1 and an even n_fft, got {num_bins}, {n_fft}"
        )
    nyquist = 0.5 * sample_rate
    if high_freq <= 0.0:
        high_freq += nyquist
    if not 0.0 <= low_freq < high_freq <= nyquist:
        raise ValueError(
            f"kaldi_mel_banks: need 0 <= low_freq < high_freq <= Nyquist ({nyquist} Hz), "
            f"got low_freq={low_freq}, high_freq={high_freq}"
        )
    mel_low, mel_high = kaldi_mel(low_freq), kaldi_mel(high_freq)
    delta = (mel_high - mel_low) / (num_bins + 1)
    left_Mx1 = mel_low + delta * np.arange(num_bins, dtype=np.float64)[:, None]
    center_Mx1 = left_Mx1 + delta
    right_Mx1 = left_Mx1 + 2.0 * delta
    bin_mel_1xF = kaldi_mel(np.arange(n_fft // 2) * (sample_rate / n_fft))[None, :]
    up_MxF = (bin_mel_1xF - left_Mx1) / (center_Mx1 - left_Mx1)
    down_MxF = (right_Mx1 - bin_mel_1xF) / (right_Mx1 - center_Mx1)
    banks_MxF = np.maximum(0.0, np.minimum(up_MxF, down_MxF))
    if with_nyquist:
        banks_MxF = np.pad(banks_MxF, ((0, 0), (0, 1)))
    return banks_MxF.astype(np.float32)


def htk_mel_banks(
    num_bins: int, n_fft: int, sample_rate: int, low_freq: float, high_freq: float
) -> np.ndarray:
    """HTK-scale triangles without normalisation, laid out like torchaudio's `melscale_fbanks`.

    The triangle edges are equally spaced in HTK mel and the triangles are linear in Hz, evaluated
    at `linspace(0, sample_rate // 2, n_fft // 2 + 1)`.

    Returns:
        float32[num_bins, n_fft // 2 + 1].
    """
    if not 0.0 <= low_freq < high_freq <= sample_rate / 2:
        raise ValueError(
            f"htk_mel_banks: need 0 <= low_freq < high_freq <= {sample_rate / 2} Hz, "
            f"got {low_freq}, {high_freq}"
        )
    bin_hz_F = np.linspace(0.0, sample_rate // 2, n_fft // 2 + 1)
    edges_hz = htk_mel_to_hz(np.linspace(htk_mel(low_freq), htk_mel(high_freq), num_bins + 2))
    left_Mx1, center_Mx1, right_Mx1 = (edges_hz[s : s + num_bins, None] for s in range(3))
    up_MxF = (bin_hz_F[None, :] - left_Mx1) / (center_Mx1 - left_Mx1)
    down_MxF = (right_Mx1 - bin_hz_F[None, :]) / (right_Mx1 - center_Mx1)
    return np.maximum(0.0, np.minimum(up_MxF, down_MxF)).astype(np.float32)


def dct_ortho(num_out: int, num_in: int) -> np.ndarray:
    """Orthonormal DCT-II as a matrix, float32[num_in, num_out]: `coeffs = x @ dct_ortho(...)`."""
    if not 1 <= num_out <= num_in:
        raise ValueError(f"dct_ortho: need 1 <= num_out <= num_in, got {num_out}, {num_in}")
    k_1xK = np.arange(num_out, dtype=np.float64)[None, :]
    n_Nx1 = np.arange(num_in, dtype=np.float64)[:, None]
    dct_NxK = np.cos(np.pi / num_in * (n_Nx1 + 0.5) * k_1xK) * np.sqrt(2.0 / num_in)
    dct_NxK[:, 0] /= np.sqrt(2.0)
    return dct_NxK.astype(np.float32)
