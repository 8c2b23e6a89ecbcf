"""Optional per-example features for sound-matching sets: the clip itself or its dB log-mel.

The log-mel is synth-proxy's MelSTFT (facts 9.1) at 32 kHz. Clips rendered at another rate (the
44.1 kHz baselines' sets) are resampled to 32 kHz first, as the reference does for NSynth, so the
estimator's input is the same whatever the audio model of the target embedding.
"""

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
    mel = _ssm_mel()
    samples = -(-settings.num_samples * SSM_MEL_RATE // settings.sample_rate)  # resampled
    return (int(mel.mel_basis.shape[0]), mel.num_frames(samples))


def compute(name: str, audio_BxN: np.ndarray, sample_rate: int = SSM_MEL_RATE) -> np.ndarray:
    """float32[B, ...] for one extra feature from a batch of clips at `sample_rate` Hz."""
    check([name])
    if name == "audio":
        return np.asarray(audio_BxN, np.float32)
    import torch

    from data_gen.audio.resample import resample

    with torch.no_grad():
        audio = torch.from_numpy(np.ascontiguousarray(audio_BxN, np.float32))
        return _ssm_mel()(resample(audio, int(sample_rate), SSM_MEL_RATE)).numpy()


@functools.cache
def _ssm_mel():
    from data_gen.audio.frontend import ssm_mel

    return ssm_mel().eval()
