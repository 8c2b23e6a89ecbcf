"""The training loop every trainer shares: k-step jitted calls, logs, validation, checkpoints.

The caller (`runner.train`) builds the pure step, the data iterator, the checkpointer and the
progress writer;
`run` drives them: compiles once per steps-per-call ("compiling..." / "compiled in Xs"), fetches
metrics only at log steps, validates and saves the best checkpoints every `eval_every` steps,
saves the latest checkpoint (state + iterator state, for an exact resume) at validations and
every `checkpoint_every` steps, and stops naming the step when a loss turns non-finite (the
state's `first_bad_step`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any, Protocol

import jax
import numpy as np
from absl import logging

from jaxproxy.checkpointing import Checkpointer, abstract_like
from jaxproxy.trainers.progress import Progress


@dataclasses.dataclass(frozen=True)
class Cadence:
    """When things happen, in optimizer steps (0 or less: never)."""

    total_steps: int
    steps_per_call: int
    log_every: int
    eval_every: int
    checkpoint_every: int

    @classmethod
    def from_config(
        cls, config, total_steps: int, eval_every: int, steps_per_call: int | None = None
    ) -> Cadence:
        """The cadence a trainer config asks for (`steps_per_call` overrides the config's)."""
        return cls(
            total_steps=total_steps,
            steps_per_call=config.steps_per_call if steps_per_call is None else steps_per_call,
            log_every=config.log_every_steps,
            eval_every=eval_every,
            checkpoint_every=config.checkpoint_every_steps,
        )


class Deferred(Protocol):
    """Validation results that arrive after their validation (audio rendered in the background).

    `poll(state, step)` applies the results due by `step` (waiting for them if needed) and
    returns the state; `flush(state)` applies every pending one; `metrics` are the latest.
    """

    metrics: dict[str, float]

    def poll(self, state: Any, step: int) -> Any: ...

    def flush(self, state: Any) -> Any: ...


def crossed(step: int, k: int, every: int) -> bool:
    """True when the last k steps ended on or passed a multiple of `every`."""
    return every > 0 and step // every != (step - k) // every


def check_finite(state: Any) -> None:
    bad = int(state.first_bad_step)
    if bad >= 0:
        raise FloatingPointError(
            f"non-finite training loss at step {bad} (0-based); stopping. Try a lower lr, "
            "compute_dtype=float32, or check the dataset for NaN/inf values."
        )


def restore(ckpt: Checkpointer, state: Any, train_iter: Any) -> Any:
    """The latest checkpoint's state (and the iterator moved to its position), else `state`."""
    restored = ckpt.restore(abstract_like(state))
    if restored is None:
        return state
    state, data_state, step = restored
    train_iter.set_state(data_state)
    logging.info("resumed from the checkpoint at step %d", step)
    return state


def run(
    state: Any,
    *,
    train_iter: Any,
    jit_step: Callable[[Any, int], Callable],
    cadence: Cadence,
    validate: Callable[[Any], dict[str, float]],
    ckpt: Checkpointer,
    progress: Progress,
    lr_at: Callable[[Any, int], float],
    after_validation: Callable[[Any, dict[str, float]], Any] | None = None,
    deferred: Deferred | None = None,
) -> tuple[Any, dict[str, float]]:
    """Trains from `state.step` to `cadence.total_steps`; returns (state, last val metrics).

    `jit_step(state, k)` gives the jitted `step(state, batches) -> (state, metrics)` for k
    batches; `lr_at(state, step)` the logged learning rate; `after_validation(state, metrics)`
    may update the state from validation metrics (e.g. an LR plateau) before it is saved;
    `deferred` results are applied when due, and always before the next validation and before a
    latest checkpoint between validations, so a latest checkpoint never holds another step's
    pending result (one saved at a validation holds its own, which the trainer resubmits).
    """
    step = int(state.step)
    jitted: dict[int, Callable] = {}  # steps per call -> jitted step (a short last call too)
    pending: list[dict[str, jax.Array]] = []
    val_metrics: dict[str, float] = {}
    total = cadence.total_steps
    try:
        while step < total:
            k = min(cadence.steps_per_call, total - step)
            batches = tuple(next(train_iter) for _ in range(k))
            if k not in jitted:
                logging.info("compiling the train step (%d step(s) per call)...", k)
                start = time.perf_counter()
                jitted[k] = jit_step(state, k)
                state, step_metrics = jitted[k](state, batches)
                jax.block_until_ready(step_metrics)
                logging.info("compiled (and ran once) in %.1fs", time.perf_counter() - start)
                progress.restart_clock(step + k)
            else:
                state, step_metrics = jitted[k](state, batches)
            pending.append(step_metrics)
            step += k
            if deferred is not None:
                state = deferred.poll(state, step)

            if crossed(step, k, cadence.log_every) or step == total:
                check_finite(state)
                fetched = jax.device_get(pending)
                pending = []
                means = {name: float(np.mean([m[name] for m in fetched])) for name in fetched[0]}
                means["lr"] = float(lr_at(state, step - 1))
                progress.log_train(step, means)
            is_eval = crossed(step, k, cadence.eval_every) or step == total
            if is_eval:
                check_finite(state)
                if deferred is not None:
                    state = deferred.flush(state)
                val_metrics = validate(state)
                logging.info("validation at step %d: %s", step, val_metrics)
                progress.write("val", step, val_metrics)
                if after_validation is not None:
                    state = after_validation(state, val_metrics)
                ckpt.save_best(step, state, val_metrics)
            if is_eval or crossed(step, k, cadence.checkpoint_every):
                check_finite(state)
                if deferred is not None and not is_eval:
                    state = deferred.flush(state)
                ckpt.save(step, state, train_iter.get_state())
            if is_eval:
                progress.restart_clock(step)  # steps/s measures training, not validation
        if deferred is not None:
            state = deferred.flush(state)
            val_metrics = {**val_metrics, **deferred.metrics}
    finally:  # an interrupted run still finishes the save in flight
        ckpt.wait()
        ckpt.close()
        progress.close()
    return state, val_metrics
