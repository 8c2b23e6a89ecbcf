"""A clip's spectrogram in dB and its drawing on a matplotlib axis (numpy only)."""

from __future__ import annotations

import numpy as np


def spectrogram_db(audio_S: np.ndarray, sample_rate: int) -> tuple[np.ndarray, tuple]:
    """Power spectrogram in dB [freq, time] (1024-point Hann, hop 256) and its imshow extent
    (seconds, kHz); shown with `show_spectrogram`."""
    n_fft, hop = 1024, 256
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(audio_S, n_fft // 2), n_fft)[::hop]
    power = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)) ** 2
    db = 10 * np.log10(np.maximum(power.T, 1e-10))
    return db, (0, len(audio_S) / sample_rate, 0, sample_rate / 2000)


def show_spectrogram(ax, audio_S: np.ndarray, sample_rate: int, vmax: float | None = None) -> None:
    """Draw a clip's spectrogram on a matplotlib axis (90 dB range below `vmax` or its peak)."""
    db, extent = spectrogram_db(audio_S, sample_rate)
    top = db.max() if vmax is None else vmax
    ax.imshow(
        db, origin="lower", aspect="auto", extent=extent, vmin=top - 90, vmax=top, cmap="magma"
    )
