"""Band-limited resampling by a rational factor: polyphase Kaiser-windowed sinc filters in torch."""

import functools
import math

import numpy as np
import torch


@functools.lru_cache(maxsize=16)
def _polyphase_kernels(
    orig: int, new: int, zero_crossings: int, rolloff: float, beta: float
) -> tuple[np.ndarray, int]:
    """Filters for each output phase: float32[new, 1, taps], plus the left padding they assume.

    Output sample j = k * new + p sits at input time k * orig + p * orig / new (in input samples);
    phase p's filter holds h(p * orig / new - m) for input offsets m = -pad .. orig + pad, where h
    is a sinc low-pass at `rolloff` times the lower Nyquist, windowed by a Kaiser window that spans
    `zero_crossings` zero crossings of the sinc on each side.
    """
    cutoff = min(1.0, new / orig) * rolloff  # in cycles per input sample, relative to Nyquist
    pad = math.ceil(zero_crossings / cutoff)
    offsets_1xK = np.arange(-pad, orig + pad + 1, dtype=np.float64)[None, :]
    times_PxK = (np.arange(new, dtype=np.float64) * orig / new)[:, None] - offsets_1xK
    support = zero_crossings / cutoff
    inside = np.clip(times_PxK / support, -1.0, 1.0)
    window_PxK = np.i0(beta * np.sqrt(1.0 - inside**2)) / np.i0(beta)
    window_PxK[np.abs(times_PxK) > support] = 0.0
    kernels_PxK = cutoff * np.sinc(cutoff * times_PxK) * window_PxK
    return kernels_PxK[:, None, :].astype(np.float32), pad


def resample(
    audio_BxN: torch.Tensor,
    orig_rate: int,
    new_rate: int,
    *,
    zero_crossings: int = 24,
    rolloff: float = 0.945,
    beta: float = 12.0,
) -> torch.Tensor:
    """Resample float[B, N] from `orig_rate` to `new_rate` Hz -> float[B, ceil(N * new / orig)].

    The defaults pass up to 94.5% of the lower Nyquist frequency and keep aliases below about
    -90 dB; the signal is zero-extended at both ends.
    """
    if orig_rate <= 0 or new_rate <= 0:
        raise ValueError(f"resample: rates must be positive, got {orig_rate} -> {new_rate}")
    if orig_rate == new_rate:
        return audio_BxN
    gcd = math.gcd(int(orig_rate), int(new_rate))
    orig, new = int(orig_rate) // gcd, int(new_rate) // gcd
    kernels, pad = _polyphase_kernels(orig, new, zero_crossings, rolloff, beta)
    num_out = math.ceil(audio_BxN.shape[-1] * new / orig)
    kernels_Px1xK = torch.from_numpy(kernels).to(audio_BxN.device, audio_BxN.dtype)
    taps = kernels_Px1xK.shape[-1]
    steps = math.ceil(num_out / new)
    right = max(0, (steps - 1) * orig + taps - pad - audio_BxN.shape[-1])
    padded_Bx1xN = torch.nn.functional.pad(audio_BxN[:, None, :], (pad, right))
    phases_BxPxS = torch.nn.functional.conv1d(padded_Bx1xN, kernels_Px1xK, stride=orig)
    return phases_BxPxS.transpose(1, 2).reshape(audio_BxN.shape[0], -1)[:, :num_out]
