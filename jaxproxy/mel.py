"""The estimator's log-mel front end in numpy (synth-proxy's MelSTFT, facts 9.1), without torch.

Pre-emphasis 0.97, centred reflect-padded frames of 1024 with a symmetric Hann window, hop 512,
power spectrum, kaldi mel triangles (128 bins, 0-16 kHz at 32 kHz), 10 log10(max(., 1e-8)):
float32[B, 128, 1 + (N - 1) // 512] exactly as `data_gen.audio.frontend.ssm_mel()` (the
torch module generation stores as the `mel` feature; tested equal), so `jaxproxy.match` can
turn a user's 32 kHz clip into the estimator's input.
"""

from __future__ import annotations

import functools

import numpy as np

from data_gen.audio.filterbank import kaldi_mel_banks

SAMPLE_RATE, N_FFT, HOP, N_MELS, F_MAX = 32000, 1024, 512, 128, 16000.0
PREEMPHASIS, DB_FLOOR = 0.97, 1e-8


@functools.cache
def _constants() -> tuple[np.ndarray, np.ndarray]:
    window = np.hanning(N_FFT)  # symmetric, as torch.hann_window(periodic=False)
    banks_MxF = kaldi_mel_banks(N_MELS, N_FFT, SAMPLE_RATE, 0.0, F_MAX).astype(np.float64)
    return window, banks_MxF


def num_frames(num_samples: int) -> int:
    """Frames for a clip of `num_samples` (pre-emphasis drops one sample)."""
    return 1 + (num_samples - 1) // HOP


def ssm_log_mel(audio_BxN: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """dB log-mel float32[B, 128, T] of mono 32 kHz clips float[B, N] (or one clip [N])."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(
            f"ssm_log_mel: clips must be at {SAMPLE_RATE} Hz, got {sample_rate} (resample first)"
        )
    audio = np.asarray(audio_BxN, np.float64)
    single = audio.ndim == 1
    audio_BxN = audio[None] if single else audio
    if audio_BxN.ndim != 2 or audio_BxN.shape[1] <= N_FFT // 2 + 1:
        raise ValueError(
            f"ssm_log_mel: expected mono clips float[B, N] with N > {N_FFT // 2 + 1}, "
            f"got shape {audio.shape}"
        )
    emphasised_BxN = audio_BxN[:, 1:] - PREEMPHASIS * audio_BxN[:, :-1]
    pad = N_FFT // 2
    padded = np.pad(emphasised_BxN, ((0, 0), (pad, pad)), mode="reflect")
    frames_BxTxF = np.lib.stride_tricks.sliding_window_view(padded, N_FFT, axis=1)[:, ::HOP]
    window, banks_MxF = _constants()
    spec = np.fft.rfft(frames_BxTxF * window, axis=-1)
    power_BxTxF = spec.real**2 + spec.imag**2
    mel_BxMxT = np.einsum("mf,btf->bmt", banks_MxF, power_BxTxF)
    db = (10.0 * np.log10(np.maximum(mel_BxMxT, DB_FLOOR))).astype(np.float32)
    return db[0] if single else db
