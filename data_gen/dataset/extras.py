"""Optional per-example features for sound-matching sets: the clip itself or its dB log-mel."""

from __future__ import annotations

import functools

import numpy as np

EXTRAS = ("audio", "mel")
SSM_MEL_RATE = 32000  # data_gen.audio.frontend.ssm_mel() is built for 32 kHz


def check(names) -> tuple[str, ...]:
    bad = [n for n in names if n not in EXTRAS]
    if bad:
        raise ValueError(f"unknown extra feature(s) {bad}; known: {list(EXTRAS)}")
    return tuple(names)


def shape(name: str, settings) -> tuple[int, ...]:
    """Per-example shape of an extra feature for clips rendered with `settings`."""
    check([name])
    if name == "audio":
        return (settings.num_samples,)
    if settings.sample_rate != SSM_MEL_RATE:
        raise ValueError(
            f"the 'mel' feature needs sample_rate {SSM_MEL_RATE}, got {settings.sample_rate}"
        )
    mel = _ssm_mel()
    return (int(mel.mel_basis.shape[0]), mel.num_frames(settings.num_samples))


def compute(name: str, audio_BxN: np.ndarray) -> np.ndarray:
    """float32[B, ...] for one extra feature from a batch of clips."""
    check([name])
    if name == "audio":
        return np.asarray(audio_BxN, np.float32)
    import torch

    with torch.no_grad():
        return _ssm_mel()(torch.from_numpy(np.ascontiguousarray(audio_BxN))).numpy()


@functools.cache
def _ssm_mel():
    from data_gen.audio.frontend import ssm_mel

    return ssm_mel().eval()
