"""Pictures for sound matching: target vs prediction log-mel spectrograms side by side, and bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from jaxproxy.mel import ssm_log_mel


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def spectrogram_comparison(
    path: str | Path,
    clips: Sequence[np.ndarray],
    titles: Sequence[str],
    *,
    sample_rate: int = 32000,
    suptitle: str = "",
) -> Path:
    """Log-mel spectrograms (the estimator's MelSTFT, dB) side by side on one colour scale."""
    plt = _pyplot()
    mels = [ssm_log_mel(c) for c in clips]
    high = max(float(m.max()) for m in mels)
    low = high - 80.0  # 80 dB of range: quieter detail is not what matching is about
    seconds = len(clips[0]) / sample_rate
    fig, axes = plt.subplots(1, len(clips), figsize=(4.2 * len(clips), 3.4), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, mel, title in zip(axes, mels, titles, strict=True):
        image = ax.imshow(
            mel, origin="lower", aspect="auto", vmin=low, vmax=high, cmap="magma",
            extent=(0.0, seconds, 0, mel.shape[0]),
        )  # fmt: skip
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("time (s)")
    positions, labels = _hz_ticks(mels[0].shape[0])
    axes[0].set_yticks(positions, labels)
    axes[0].set_ylabel("frequency (Hz; note at C ticks)")
    fig.colorbar(image, ax=list(axes), label="dB", shrink=0.85)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10, y=1.03)
    path = Path(path)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


# Ticks at C notes (C1 .. C8) and a few round frequencies: pitch can be read off the image.
_TICKS_HZ = {
    "C3 131": 130.81, "C4 262": 261.63, "C5 523": 523.25, "C6 1047": 1046.5,
    "C7 2093": 2093.0, "4k": 4000.0, "8k": 8000.0, "16k": 15900.0,
}  # fmt: skip


def _hz_ticks(n_mels: int) -> tuple[list[float], list[str]]:
    """Image rows of `_TICKS_HZ` on the kaldi mel axis (0-16 kHz, n_mels bands, band k centred
    at k + 0.5 in the image)."""
    from jaxproxy.mel import F_MAX

    def mel(hz: float) -> float:
        return 1127.0 * np.log(1.0 + hz / 700.0)

    step = (mel(F_MAX) - mel(0.0)) / (n_mels + 1)
    positions = [mel(hz) / step - 0.5 for hz in _TICKS_HZ.values()]
    return positions, list(_TICKS_HZ)


def metric_bars(
    path: str | Path,
    ours: Mapping[str, float],
    *,
    title: str = "",
    paper: Mapping[str, float] | None = None,
    paper_label: str = "paper",
) -> Path:
    """One bar per method with its value; the paper's value for the same method (when given) as
    a dashed line across the bar."""
    plt = _pyplot()
    names = list(ours)
    fig, ax = plt.subplots(figsize=(1.4 + 1.1 * len(names), 3.2))
    ax.bar(names, [ours[n] for n in names], color="#4C72B0", label="ours")
    labelled = False
    for k, name in enumerate(names):
        ax.text(k, ours[name], f"{ours[name]:.3f}", ha="center", va="bottom", fontsize=8)
        if paper and paper.get(name) is not None:
            ax.hlines(paper[name], k - 0.4, k + 0.4, colors="#C44E52", linestyles="dashed",
                      label=None if labelled else paper_label)  # fmt: skip
            labelled = True
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=8)
    path = Path(path)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
