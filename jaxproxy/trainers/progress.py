"""Training progress for people: console lines with steps/s and ETA, and TensorBoard scalars."""

from __future__ import annotations

import time

import jax
from absl import logging


class Progress:
    """Logs rates and ETA and writes TensorBoard scalars (on process 0 only)."""

    def __init__(self, logdir: str, total_steps: int, first_step: int, batch_size: int):
        self.total_steps = total_steps
        self.batch_size = batch_size
        self._last_step = first_step
        self._last_time = time.perf_counter()
        self._writer = None
        if jax.process_index() == 0:
            from tensorboardX import SummaryWriter

            self._writer = SummaryWriter(logdir)

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
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _hms(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
