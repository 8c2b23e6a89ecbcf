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
    axes[0].set_ylabel("mel band (kaldi, 0-16 kHz)")
    fig.colorbar(image, ax=list(axes), label="dB", shrink=0.85)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10, y=1.03)
    path = Path(path)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


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
