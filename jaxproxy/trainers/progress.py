"""Training progress for people: console lines with steps/s and ETA; TensorBoard scalars, the
config as hparams, and the curves as a PNG (also shown in TensorBoard's images tab)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
from absl import logging

# Curves drawn in the PNG, by TensorBoard tag; the hparams table shows the validation metrics.
CURVES = ("train/loss", "train/lr", "val/l1", "val/mrr")


def flat_hparams(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"schedule.min_lr": 2e-06, ...}: scalars kept, anything else (lists, None) as text."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flat_hparams(value, name + "."))
        elif isinstance(value, bool | int | float | str):
            flat[name] = value
        else:
            flat[name] = str(value)
    return flat


class Progress:
    """Logs rates and ETA; writes TensorBoard scalars, hparams and curves (process 0 only).

    The curve points are kept in `<curves_png stem>.json` too, so a resumed run draws the whole
    run (points after the resumed step are dropped: they are trained again).
    """

    def __init__(
        self,
        logdir: str,
        total_steps: int,
        first_step: int,
        batch_size: int,
        *,
        hparams: Mapping[str, Any] | None = None,
        curves_png: str | None = None,
        curves: tuple[str, ...] = CURVES,
    ):
        self.total_steps = total_steps
        self.batch_size = batch_size
        self._last_step = first_step
        self._last_time = time.perf_counter()
        self._writer = None
        self._curves_png = curves_png
        self._curves = curves
        self._history: dict[str, list[list[float]]] = {}
        if jax.process_index() == 0:
            from tensorboardX import SummaryWriter

            self._writer = SummaryWriter(logdir)
            if hparams is not None:
                self._write_hparams(flat_hparams(hparams))
            if curves_png is not None:
                self._history = _read_history(_history_path(curves_png), first_step)

    def _write_hparams(self, flat: dict[str, Any]) -> None:
        from tensorboardX.summary import hparams

        # Into this run (not add_hparams' sub-run), so the table reads the val/* scalars.
        file_writer = self._writer._get_file_writer()
        for summary in hparams(flat, {"val/mrr": 0.0, "val/l1": 0.0}):
            file_writer.add_summary(summary)

    def restart_clock(self, step: int) -> None:
        """Starts the rate window at `step` now (e.g. after compilation)."""
        self._last_step, self._last_time = step, time.perf_counter()

    def log_train(self, step: int, scalars: dict[str, float]) -> None:
        now = time.perf_counter()
        steps_per_s = (step - self._last_step) / max(now - self._last_time, 1e-9)
        self._last_step, self._last_time = step, now
        eta_s = (self.total_steps - step) / steps_per_s if steps_per_s > 0 else float("inf")
        scalars = dict(
            scalars, steps_per_s=steps_per_s, samples_per_s=steps_per_s * self.batch_size
        )
        logging.info(
            "step %d/%d  %s  %.2f steps/s  ETA %s",
            step,
            self.total_steps,
            "  ".join(f"{k} {v:.4g}" for k, v in scalars.items() if k != "steps_per_s"),
            steps_per_s,
            _hms(eta_s),
        )
        self.write("train", step, scalars)

    def write(self, prefix: str, step: int, scalars: dict[str, float]) -> None:
        if self._writer is not None:
            for name, value in scalars.items():
                self._writer.add_scalar(f"{prefix}/{name}", value, step)
                if f"{prefix}/{name}" in self._curves:
                    self._history.setdefault(f"{prefix}/{name}", []).append([step, value])
            self._writer.flush()

    def close(self) -> None:
        """Draws the curves (PNG file + TensorBoard image) and closes the writer."""
        if self._writer is None:
            return
        if self._curves_png is not None and self._history:
            _write_json(_history_path(self._curves_png), self._history)
            image_HxWx3 = draw_curves(self._history, self._curves_png, self._curves)
            last = max(points[-1][0] for points in self._history.values())
            self._writer.add_image("curves", image_HxWx3, int(last), dataformats="HWC")
        self._writer.close()


def draw_curves(
    history: Mapping[str, list[list[float]]], path: str, curves: tuple[str, ...] = CURVES
) -> np.ndarray:
    """One panel per curve (log scale for loss, lr and L1) saved to `path`; uint8[H, W, 3]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in curves if history.get(n)]
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.8), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        steps, values = np.asarray(history[name], np.float64).T
        ax.plot(steps, values, marker="." if len(steps) < 30 else None)
        ax.set_title(name)
        ax.set_xlabel("step")
        if name != "val/mrr" and np.all(values > 0):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return image


def _history_path(curves_png: str) -> str:
    return os.path.splitext(curves_png)[0] + ".json"


def _read_history(path: str, first_step: int) -> dict[str, list[list[float]]]:
    try:
        with open(path) as f:
            history = json.load(f)
    except FileNotFoundError:
        return {}
    return {name: [p for p in points if p[0] <= first_step] for name, points in history.items()}


def _write_json(path: str, payload: Any) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(payload, f)
    os.replace(tmp, path)


def _hms(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
