"""What a training checkpoint holds: the train states, their optimizers, and the generic update.

Neutral ground shared by the trainers (which step these states), the exporters (which restore
them from a workdir's checkpoints) and the converters (which write them); imports no trainer.
A proxy run's state is `TrainState` with `proxy_optimizer`; an estimator's and a proxy
fine-tuning's is `EstimatorState` with `estimator_optimizer` (AdamW at warmup x plateau LR).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jaxproxy import schedules

LR_SCHEDULES = ("wcrc", "plateau")


@flax.struct.dataclass
class TrainState:
    """Everything the step updates. `first_bad_step` is -1 until a loss is non-finite."""

    step: jax.Array
    params: nnx.State
    batch_stats: nnx.State
    opt_state: optax.OptState
    first_bad_step: jax.Array


@flax.struct.dataclass
class EstimatorState:
    """Everything the step updates; `plateau` is updated at validations (host side).

    Also the proxy fine-tuning's state (same optimizer, warmup and plateau)."""

    step: jax.Array
    params: nnx.State
    batch_stats: nnx.State
    opt_state: optax.OptState
    first_bad_step: jax.Array
    plateau: schedules.PlateauState


def init_state(
    params: nnx.State, batch_stats: nnx.State, tx: optax.GradientTransformation
) -> TrainState:
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        params=params,
        batch_stats=batch_stats,
        opt_state=tx.init(params),
        first_bad_step=jnp.full((), -1, jnp.int32),
    )


def init_estimator_state(
    params: nnx.State, batch_stats: nnx.State, tx: optax.GradientTransformation
) -> EstimatorState:
    state = init_state(params, batch_stats, tx)
    fields = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
    return EstimatorState(**fields, plateau=schedules.PlateauState.create())


def uses_plateau(config: Any) -> bool:
    """True for `lr_schedule="plateau"` (the reference's SSM proxies); older configs: wcrc."""
    name = config.get("lr_schedule", "wcrc")
    if name not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {name!r}")
    return name == "plateau"


def make_schedule(config: Any, steps_per_epoch: int) -> optax.Schedule:
    """The paper's wcrc schedule (facts 6.4) at the config's base lr; with `lr_schedule=plateau`
    the base lr, which `schedules.plateau_scaling` then scales."""
    if uses_plateau(config):
        return optax.constant_schedule(config.lr)
    return schedules.wcrc_schedule(config.lr, steps_per_epoch, **config.schedule)


def proxy_optimizer(config: Any, schedule: optax.Schedule) -> optax.GradientTransformation:
    """AdamW with the config's betas/eps and weight decay (0 in the paper, facts 6.2), followed
    by the LR plateau's scale when the config asks for one."""
    adamw = optax.adamw(
        schedule, b1=config.b1, b2=config.b2, eps=config.eps, weight_decay=config.weight_decay
    )
    return optax.chain(adamw, schedules.plateau_scaling()) if uses_plateau(config) else adamw


def estimator_optimizer(config: Any) -> optax.GradientTransformation:
    """AdamW (facts 9.5) whose learning rate the step sets: warmup x plateau scale."""
    return optax.inject_hyperparams(optax.adamw)(
        learning_rate=config.lr,
        b1=config.b1,
        b2=config.b2,
        eps=config.eps,
        weight_decay=config.weight_decay,
    )


def learning_rate(config: Any, step, plateau_scale) -> jax.Array:
    """lr * min(1, (step + 1) / warmup) * plateau scale (the reference's manual warmup)."""
    return config.lr * schedules.warmup_factor(step, config.warmup_steps) * plateau_scale


def apply_update(state, updates, opt_state, batch_stats, loss: jax.Array):
    """The next train state: one optimizer update, new BatchNorm statistics, and the first step
    whose loss was not finite (kept for the NaN stop, which reads it only at log steps)."""
    bad = (state.first_bad_step < 0) & ~jnp.isfinite(loss)
    return state.replace(
        step=state.step + 1,
        params=optax.apply_updates(state.params, updates),
        batch_stats=batch_stats,
        opt_state=opt_state,
        first_bad_step=jnp.where(bad, state.step, state.first_bad_step),
    )


def scan_steps(one_step: Callable) -> Callable:
    """`one_step(state, batch)` -> `step(state, batches)`: k updates in one call (`lax.scan`),
    metrics averaged over the k."""

    def train_step(state, batches: Sequence[Any]):
        if len(batches) == 1:
            return one_step(state, batches[0])
        stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *batches)
        state, metrics = jax.lax.scan(one_step, state, stacked)
        return state, jax.tree.map(jnp.mean, metrics)

    return train_step
