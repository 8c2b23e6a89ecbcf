"""The proxy's pure train and eval steps: NNX split once, merged inside a plain `jax.jit` step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.sharding import Mesh

from jaxproxy import schedules, sharding

Batch = dict[str, jax.Array]  # {"params": float32[B, P], "embedding": float32[B, E]}
PRESETS, TARGETS = "params", "embedding"


@flax.struct.dataclass
class TrainState:
    """Everything the step updates. `first_bad_step` is -1 until a loss is non-finite."""

    step: jax.Array
    params: nnx.State
    batch_stats: nnx.State
    opt_state: optax.OptState
    first_bad_step: jax.Array


@flax.struct.dataclass
class ModelDef:
    """The static half of a split encoder: train/eval graph definitions and untrained state."""

    train_graph: nnx.GraphDef = flax.struct.field(pytree_node=False)
    eval_graph: nnx.GraphDef = flax.struct.field(pytree_node=False)
    rest: nnx.State  # anything that is neither a Param nor a BatchStat (held constant)


LR_SCHEDULES = ("wcrc", "plateau")


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


def make_optimizer(config: Any, schedule: optax.Schedule) -> optax.GradientTransformation:
    """AdamW with the config's betas/eps and weight decay (0 in the paper, facts 6.2), followed
    by the LR plateau's scale when the config asks for one."""
    adamw = optax.adamw(
        schedule, b1=config.b1, b2=config.b2, eps=config.eps, weight_decay=config.weight_decay
    )
    return optax.chain(adamw, schedules.plateau_scaling()) if uses_plateau(config) else adamw


def split_model(model: nnx.Module) -> tuple[ModelDef, nnx.State, nnx.State]:
    """Splits `model` into (ModelDef, params, batch_stats); the model is left in eval mode."""
    model.train()
    train_graph, params, batch_stats, rest = nnx.split(model, nnx.Param, nnx.BatchStat, ...)
    model.eval()
    eval_graph = nnx.graphdef(model)
    return ModelDef(train_graph, eval_graph, rest), params, batch_stats


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


def make_train_step(
    model_def: ModelDef, tx: optax.GradientTransformation
) -> Callable[[TrainState, Sequence[Batch]], tuple[TrainState, dict[str, jax.Array]]]:
    """Returns the pure `train_step(state, batches) -> (state, metrics)`.

    `batches` is a sequence of k batches; the step applies k optimizer updates in one call
    (`lax.scan`), which amortises dispatch when steps are short. Metrics are means over the k.
    Compute precision is the encoder's own (`dtype`); the loss is taken in float32.
    """

    def loss_fn(params, batch_stats, batch):
        # copy=True: fresh Variables at this (grad) trace level, so BatchNorm may update them.
        model = nnx.merge(model_def.train_graph, params, batch_stats, model_def.rest, copy=True)
        emb_BxE = model(batch[PRESETS]).astype(jnp.float32)
        loss = jnp.mean(jnp.abs(emb_BxE - batch[TARGETS]))
        return loss, nnx.state(model, nnx.BatchStat)

    def one_step(state: TrainState, batch: Batch):
        (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, state.batch_stats, batch
        )
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        state = apply_update(state, updates, opt_state, batch_stats, loss)
        return state, {"loss": loss, "grad_norm": optax.global_norm(grads)}

    return scan_steps(one_step)


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

    def train_step(state, batches: Sequence[Batch]):
        if len(batches) == 1:
            return one_step(state, batches[0])
        stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *batches)
        state, metrics = jax.lax.scan(one_step, state, stacked)
        return state, jax.tree.map(jnp.mean, metrics)

    return train_step


def make_encode(model_def: ModelDef) -> Callable[[nnx.State, nnx.State, jax.Array], jax.Array]:
    """Returns the pure eval-mode `encode(params, batch_stats, presets, soft=False) -> emb_BxE`.

    `presets` are hard float32[B, P], or soft float32[B, onehot_width] with `soft=True`.
    """

    def encode(params, batch_stats, presets, soft: bool = False):
        model = nnx.merge(model_def.eval_graph, params, batch_stats, model_def.rest)
        return model(presets, soft=soft).astype(jnp.float32)

    return encode


def jit_train_step(train_step: Callable, mesh: Mesh, state: TrainState, steps_per_call: int):
    """`jax.jit` with parameters replicated (P()), batches sharded (P("data")) and state donated."""
    replicated = sharding.replicated(mesh)
    state_sharding = jax.tree.map(lambda _: replicated, state)
    return jax.jit(
        train_step,
        in_shardings=(state_sharding, (sharding.batch_sharding(mesh),) * steps_per_call),
        out_shardings=(state_sharding, replicated),
        donate_argnums=0,
    )


def jit_encode(encode: Callable, mesh: Mesh) -> Callable:
    """Eval-mode forward pass: parameters replicated, presets and embeddings sharded."""
    replicated, sharded = sharding.replicated(mesh), sharding.batch_sharding(mesh)
    return jax.jit(encode, in_shardings=(replicated, replicated, sharded), out_shardings=sharded)
