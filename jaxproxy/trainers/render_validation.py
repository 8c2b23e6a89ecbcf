"""The reference's validation criterion for the estimator: `a_mean` of rendered predictions.

The reference renders every validation prediction and its target at each validation (every 10
epochs) and steps its LR plateau and picks its best checkpoint on the mean audio metric
`a_mean` (facts 9.5, 9.7). Here a fixed, bounded subset of the validation split is rendered by
the render service (`matching.evaluation.ValidationHook`, targets once) in a background thread
while training goes on; the result reaches the plateau and the best checkpoint `lag` steps after
its validation, with the state of the validation's own step, so the run does not depend on how
fast rendering is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from absl import logging

from jaxproxy.checkpointing import Checkpointer
from jaxproxy.configs.estimator import MONITORS
from jaxproxy.matching.evaluation import ValidationHook
from jaxproxy.matching.render_client import RenderError
from jaxproxy.trainers.progress import Progress

PARAM_METRICS = ("num_mae", "bin_acc", "cat_acc")


def render_subset(num_val: int, max_examples: int, seed: int) -> np.ndarray:
    """Positions in the validation split that are rendered: all (max_examples < 0) or a random,
    fixed subset (the split is in dataset order, whose first presets come from the first banks)."""
    order = np.random.default_rng(seed).permutation(num_val)
    return order if max_examples < 0 else order[:max_examples]


def resolve_monitor(
    config: Any, uses_proxy: bool, make_hook: Callable[[], ValidationHook]
) -> tuple[str, ValidationHook | None]:
    """(monitor, hook): `auto` is `a_mean` when the synth renders here, else the proxy's `a_l1`
    (PLoss, which runs no proxy: `loss_p`); an explicit `a_mean` that cannot render fails."""
    monitor = config.monitor
    if monitor not in MONITORS:
        raise ValueError(f"monitor must be one of {MONITORS}, got {monitor!r}")
    if monitor == "a_l1" and not uses_proxy:
        raise ValueError(
            f"monitor=a_l1 needs the proxy, which schedule {config.loss_schedule} never runs "
            "(the reference's PLoss neither); use monitor=a_mean or loss_p"
        )
    if monitor not in ("auto", "a_mean"):
        return monitor, None
    try:
        return "a_mean", make_hook()
    except RenderError as err:
        if monitor == "a_mean":
            raise ValueError(f"monitor=a_mean renders the validation presets, but {err}") from None
        fallback = "a_l1" if uses_proxy else "loss_p"
        logging.warning("monitor=auto: cannot render here (%s); following %s", err, fallback)
        return fallback, None


def predict_presets(predict: Callable, state: Any, mel_NxMxT: np.ndarray, batch: int) -> np.ndarray:
    """Hard-decoded presets for every row, in fixed-size chunks (the last padded: one compile)."""
    out = []
    for start in range(0, len(mel_NxMxT), batch):
        chunk = mel_NxMxT[start : start + batch]
        padded = np.concatenate([chunk, np.repeat(chunk[-1:], batch - len(chunk), axis=0)])
        out.append(np.asarray(predict(state, padded))[: len(chunk)])
    return np.concatenate(out).astype(np.float32)


class RenderedValidation:
    """`loop.Deferred` for `a_mean`: `submit(state)` at a validation, applied `lag` steps later.

    `apply_plateau(state, metrics, at_step)` steps the LR plateau on `a_mean` as of the
    validation's step; the best-`a_mean` checkpoint gets a host copy of that step's state.
    """

    def __init__(
        self,
        hook: ValidationHook,
        predict: Callable,
        mel_NxMxT: np.ndarray,
        *,
        batch_size: int,
        lag: int,
        ckpt: Checkpointer,
        progress: Progress,
        apply_plateau: Callable[[Any, dict[str, float], int], Any],
    ) -> None:
        self.hook, self.predict, self.mel = hook, jax.jit(predict), mel_NxMxT
        self.batch_size, self.lag = batch_size, lag
        self.ckpt, self.progress, self.apply_plateau = ckpt, progress, apply_plateau
        self.metrics: dict[str, float] = {}
        self._pending: tuple[int, Any, Any] | None = None  # (step, host state, future)

    def submit(self, state: Any) -> None:
        """Renders this state's predictions in the background (one validation at a time)."""
        if self._pending is not None:
            raise RuntimeError("RenderedValidation.submit: the previous validation is pending")
        presets = predict_presets(self.predict, state, self.mel, self.batch_size)
        step = int(state.step)
        self._pending = (step, jax.device_get(state), self.hook.submit(presets))

    def poll(self, state: Any, step: int) -> Any:
        if self._pending is not None and step >= self._pending[0] + self.lag:
            return self.flush(state)
        return state

    def flush(self, state: Any) -> Any:
        if self._pending is None:
            return state
        step, host_state, future = self._pending
        self._pending = None
        metrics = future.result()
        if "a_mean" not in metrics:
            raise RuntimeError(
                f"validation at step {step}: all {self.hook.num_examples} predicted presets "
                "failed to render, so there is no a_mean to follow"
            )
        # The parameter metrics come from the whole split's validation (`estimator.Validator`).
        self.metrics = {k: float(v) for k, v in metrics.items() if k not in PARAM_METRICS}
        logging.info("rendered validation of step %d: %s", step, self.metrics)
        self.progress.write("val", step, self.metrics)
        self.ckpt.save_best(step, host_state, self.metrics)
        return self.apply_plateau(state, self.metrics, step)

    def close(self) -> None:
        self.hook.close()
