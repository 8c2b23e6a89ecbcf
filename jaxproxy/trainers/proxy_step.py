"""The proxy's pure train and eval steps: NNX split once, merged inside a plain `jax.jit` step."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.sharding import Mesh

from jaxproxy import sharding
from jaxproxy.models.functional import ModelDef
from jaxproxy.train_state import TrainState, apply_update, scan_steps

Batch = dict[str, jax.Array]  # {"params": float32[B, P], "embedding": float32[B, E]}
PRESETS, TARGETS = "params", "embedding"


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
