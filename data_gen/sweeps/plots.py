"""Figures of the ranking study: a bar chart of model scores and spectrogram strips of sweeps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from data_gen.audio.spectrogram import show_spectrogram, spectrogram_db


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_chart(path: Path, scores: Mapping[str, Mapping[str, float]], title: str) -> None:
    """Grouped bars: one group per model, one bar per series (e.g. synth and sound length).

    `scores[series][model]` is a mean Spearman correlation; missing entries are left out.
    """
    plt = _pyplot()
    series = list(scores)
    models = sorted(
        {m for s in scores.values() for m in s},
        key=lambda m: -np.nanmean([scores[s].get(m, np.nan) for s in series]),
    )
    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(models) + 2), 4))
    values = [v for s in scores.values() for v in s.values()]
    for k, name in enumerate(series):
        xs = [
            i + (k - (len(series) - 1) / 2) * width
            for i, m in enumerate(models)
            if m in scores[name]
        ]
        ys = [scores[name][m] for m in models if m in scores[name]]
        ax.bar(xs, ys, width, label=name)
    ax.set_xticks(range(len(models)), models)
    low = min(values) if values else 0.0
    ax.set_ylim(max(-1.0, min(0.5, low - 0.05)), 1.0)
    ax.set(ylabel="mean Spearman (L1)", title=title)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def sweep_strip(
    path: Path, audio_VxS: np.ndarray, sample_rate: int, labels: Sequence[str], title: str
) -> None:
    """The spectrograms of one sweep side by side on one colour scale, so the change shows."""
    plt = _pyplot()
    num = len(audio_VxS)
    top = max(spectrogram_db(a, sample_rate)[0].max() for a in audio_VxS)
    fig, axes = plt.subplots(1, num, figsize=(1.1 * num, 2.4), sharey=True)
    for ax, audio_S, label in zip(np.atleast_1d(axes), audio_VxS, labels, strict=True):
        show_spectrogram(ax, audio_S, sample_rate, vmax=top)
        ax.set_title(label, fontsize=7)
        ax.tick_params(labelsize=6)
    np.atleast_1d(axes)[0].set_ylabel("kHz", fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
