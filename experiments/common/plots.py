"""Experiment figures: training curves from a run's logs, UMAP of predicted vs true, rank histogram.

Plotting only takes numpy arrays and writes PNG files (matplotlib's Agg backend, no display);
`read_run_curves` reads the scalars a training run logged to TensorBoard.
"""

from __future__ import annotations

import glob
import math
import os
from collections.abc import Mapping

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# (TensorBoard tag, panel title) of the three curves the experiments show.
CURVES = (("train/loss", "train loss (L1)"), ("val/l1", "val L1"), ("val/mrr", "val MRR"))
Curves = dict[str, tuple[np.ndarray, np.ndarray]]  # tag -> (steps, values)


def read_run_curves(tensorboard_dir: str) -> Curves:
    """Every scalar a training run wrote: tag -> (steps int64[S], values float64[S]).

    A resumed run appends new event files and may log a step twice; the last value wins.
    """
    from tensorboard.backend.event_processing import event_accumulator

    files = sorted(glob.glob(os.path.join(tensorboard_dir, "events.out.tfevents.*")))
    if not files:
        raise FileNotFoundError(f"{tensorboard_dir}: no TensorBoard event files (a training run?)")
    by_tag: dict[str, dict[int, float]] = {}
    for path in files:
        acc = event_accumulator.EventAccumulator(path, size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            for event in acc.Scalars(tag):
                by_tag.setdefault(tag, {})[event.step] = event.value
    return {
        tag: (np.array(sorted(v), np.int64), np.array([v[s] for s in sorted(v)], np.float64))
        for tag, v in by_tag.items()
    }


def _curve_axes(title: str, curves=CURVES) -> tuple[plt.Figure, np.ndarray]:
    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.4), squeeze=False)
    axes = axes[0]
    for ax, (_, label) in zip(axes, curves, strict=True):
        ax.set_title(label)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig, axes


def _save(fig: plt.Figure, path: str) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def log_tick_label(value: float, _position=None) -> str:
    """Plain labels on a log axis at 1, 2 and 5 x 10^k only (every minor tick crowds)."""
    if value <= 0:
        return ""
    mantissa = value / 10 ** math.floor(math.log10(value))
    return f"{value:g}" if any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 5)) else ""


def plot_training_curves(curves: Curves, path: str, title: str) -> str:
    """One run: train loss, val L1 and val MRR against steps (log-scale losses)."""
    return plot_curve_overlay({"": curves}, path, title)


def plot_curve_overlay(
    runs: Mapping[str, Curves], path: str, title: str, panels=CURVES, log_panels: int = 2
) -> str:
    """Several runs' curves in the same panels ((tag, title) pairs), one colour per run; the
    first `log_panels` panels on a log scale when positive."""
    fig, axes = _curve_axes(title, panels)
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, curves) in enumerate(runs.items()):
        color = cycle[i % len(cycle)]  # the same run keeps its colour in panels it is missing from
        for ax, (tag, _) in zip(axes, panels, strict=True):
            if tag in curves:
                steps, values = curves[tag]
                marker = "." if len(steps) < 30 else None
                ax.plot(steps, values, label=label or None, color=color, marker=marker)
    for ax, (tag, _) in zip(axes[:log_panels], panels[:log_panels], strict=True):
        if any(tag in c and np.all(c[tag][1] > 0) for c in runs.values()):
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(log_tick_label))
            ax.yaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(log_tick_label))
    if any(runs):
        axes[-1].legend(fontsize=8)
    return _save(fig, path)


def plot_umap(
    pred_2d_Nx2: np.ndarray,
    true_2d_Nx2: np.ndarray,
    path: str,
    title: str,
    wasserstein: float,
    labels: tuple[str, str] = ("audio model (true)", "proxy (predicted)"),
) -> str:
    """Two UMAP clouds: by default predicted (proxy) and true (audio model) embeddings."""
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    ax.scatter(*true_2d_Nx2.T, s=4, alpha=0.5, label=labels[0])
    ax.scatter(*pred_2d_Nx2.T, s=4, alpha=0.5, label=labels[1])
    ax.set_title(f"{title}\nWasserstein distance (UMAP plane) {wasserstein:.3f}", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(markerscale=3, fontsize=8)
    return _save(fig, path)


def plot_rank_histogram(ranks_N: np.ndarray, path: str, title: str) -> str:
    """Histogram of the true match's 0-based rank (log-spaced bins; rank 0 = retrieved first)."""
    ranks_N = np.asarray(ranks_N)
    n = len(ranks_N)
    edges = np.unique(np.concatenate([[0, 1], np.geomspace(1, max(n, 2), 24).round()]))
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    ax.hist(ranks_N, bins=edges, color="tab:blue")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel(f"rank of the true match among {n} (0 = first)")
    ax.set_ylabel("queries")
    ax.set_title(f"{title}\nMRR {np.mean(1.0 / (ranks_N + 1)):.3f}", fontsize=10)
    return _save(fig, path)


def plot_metric_bars(
    labels: list[str], ours: Mapping[str, list[float]], path: str, title: str, ylabel: str
) -> str:
    """Grouped bars: one group per label, one bar per series (e.g. synthetic vs hand-crafted)."""
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2.5, 3.6))
    width = 0.8 / max(1, len(ours))
    x = np.arange(len(labels))
    for i, (series, values) in enumerate(ours.items()):
        ax.bar(x + i * width - 0.4 + width / 2, values, width, label=series)
    ax.set_xticks(x, labels)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)
