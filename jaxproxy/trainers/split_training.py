"""What the estimator and the proxy fine-tuning share (facts 9.1, 9.5-9.6): a random
train/validation split of one dataset held in memory, shuffled resumable batches from it,
example-weighted validation means, and AdamW at the warmup x ReduceLROnPlateau learning rate.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from jax.sharding import Mesh

from jaxproxy import data, schedules, sharding
from jaxproxy.data.iterators import HostBatchIterator
from jaxproxy.data.splits import split_indices
from jaxproxy.train_state import (
    EstimatorState,
    apply_update,
    estimator_optimizer,
    init_estimator_state,
    learning_rate,
    scan_steps,
)
from jaxproxy.trainers import runner

MEL, PRESETS = "mel", "params"


def load_splits(config: ml_collections.ConfigDict, features: tuple[str, ...]):
    """(dataset, train arrays, validation arrays) with clear errors for a wrong dataset."""
    ds = data.open_dataset(
        config.train_data, expect_synth=config.synth, expect_audio_model=config.audio_model
    )
    if MEL in features and MEL not in ds.feature_names:
        raise ValueError(
            f"train_data={config.train_data} has no 'mel' feature (features: "
            f"{list(ds.feature_names)}); generate it with `--extras mel`"
        )
    arrays = ds.load_arrays(features)
    train_idx, val_idx = split_indices(ds.num_examples, config.train_fraction, config.split_seed)
    take = lambda idx: {k: np.ascontiguousarray(v[idx]) for k, v in arrays.items()}  # noqa: E731
    return ds, take(train_idx), take(val_idx)


def make_train_iterator(arrays, config, mesh) -> HostBatchIterator:
    """The resumable, shuffled training batches from host memory (a seam the resume test wraps)."""
    return HostBatchIterator(
        lambda positions: {name: array[positions] for name, array in arrays.items()},
        mode="memory",
        num_examples=len(arrays[PRESETS]),
        mesh=mesh,
        global_batch=config.batch_size,
        seed=config.shuffle_seed,
    )


class Validator:
    """Example-weighted means of the eval step's batch means over the whole validation split,
    its last partial batch included (the reference's loader keeps it; Lightning weights each
    batch's logged mean by its size). The partial batch is replicated, not sharded."""

    def __init__(self, arrays, config, mesh, eval_step, proxy_weights, rendered=None):
        self.arrays, self.config, self.mesh = arrays, config, mesh
        self.proxy_weights, self.rendered = proxy_weights, rendered
        self.eval_step = jax.jit(eval_step)
        num = len(arrays[PRESETS])
        self.num_whole = data.num_eval_batches(num, config.eval_batch_size) * config.eval_batch_size
        if num < 1:
            raise ValueError("the validation split is empty (train_fraction too high?)")

    def __call__(self, state) -> dict[str, float]:
        means, sizes = [], []
        whole = {k: v[: self.num_whole] for k, v in self.arrays.items()}
        for batch in data.eval_batches(
            whole, mesh=self.mesh, batch_size=self.config.eval_batch_size
        ):
            means.append(self.eval_step(state, self.proxy_weights, batch))
            sizes.append(self.config.eval_batch_size)
        rest = {k: v[self.num_whole :] for k, v in self.arrays.items()}
        if len(rest[PRESETS]):
            batch = jax.device_put(rest, sharding.replicated(self.mesh))
            means.append(self.eval_step(state, self.proxy_weights, batch))
            sizes.append(len(rest[PRESETS]))
        fetched = jax.device_get(means)
        if self.rendered is not None:  # rendered in the background, applied later
            self.rendered.submit(state)
        return {k: float(np.average([m[k] for m in fetched], weights=sizes)) for k in fetched[0]}


def plateau_after_validation(config, metric: str, replicated):
    """`after_validation` for `loop.run`: one ReduceLROnPlateau step on `metric` after warmup
    (`at_step`: the validation's step, when the metric arrives later)."""

    def after_validation(state, metrics, at_step: int | None = None):
        at = int(state.step) if at_step is None else at_step
        if at < config.warmup_steps:  # the plateau starts after the warmup
            return state
        plateau = schedules.plateau_update(
            jax.device_get(state.plateau),
            metrics[metric],
            factor=config.plateau_factor,
            patience=config.plateau_patience,
        )
        return state.replace(plateau=jax.device_put(plateau, replicated))

    return after_validation


def warmup_plateau_step(loss_fn: Callable, tx: optax.GradientTransformation, config) -> Callable:
    """`loss_fn(params, batch_stats, frozen, batch, step) -> (loss, (batch_stats, metrics))` ->
    the pure `train_step(state, frozen, batches)` of AdamW at the warmup x plateau LR.

    Shared by the estimator and the proxy fine-tuning (facts 9.5-9.6); `frozen` holds arrays
    the step reads but does not train (the proxy's weights).
    """

    def train_step(state: EstimatorState, frozen, batches):
        def one_step(state: EstimatorState, batch):
            grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
            (loss, (batch_stats, metrics)), grads = grad_fn(
                state.params, state.batch_stats, frozen, batch, state.step
            )
            lr = learning_rate(config, state.step, state.plateau.scale)
            hyper = dict(state.opt_state.hyperparams, learning_rate=lr)
            updates, opt_state = tx.update(
                grads, state.opt_state._replace(hyperparams=hyper), state.params
            )
            state = apply_update(state, updates, opt_state, batch_stats, loss)
            return state, dict(metrics, grad_norm=optax.global_norm(grads))

        return scan_steps(one_step)(state, batches)

    return train_step


def jit_train_step(train_step: Callable, mesh: Mesh, state: EstimatorState, proxy_weights, k: int):
    """jit with state and frozen (proxy) weights replicated, batches sharded, state donated."""
    replicated = sharding.replicated(mesh)
    state_sharding = jax.tree.map(lambda _: replicated, state)
    weights_sharding = jax.tree.map(lambda _: replicated, proxy_weights)
    jitted = jax.jit(
        train_step,
        in_shardings=(state_sharding, weights_sharding, (sharding.batch_sharding(mesh),) * k),
        out_shardings=(state_sharding, replicated),
        donate_argnums=0,
    )
    return lambda state, batches: jitted(state, proxy_weights, batches)


def lr_readout(config) -> Callable:
    """`lr_at(state, step)` for `loop.run`: the warmup x plateau learning rate of that step."""
    return lambda state, step: float(learning_rate(config, step, jnp.asarray(state.plateau.scale)))


class WarmupPlateauTask(runner.Task):
    """The state and optimizer of the estimator and the proxy fine-tuning: `EstimatorState`,
    AdamW at the warmup x plateau LR (`train_state.estimator_optimizer`)."""

    def __init__(self, config: ml_collections.ConfigDict):
        self.config, self.tx = config, estimator_optimizer(config)

    def init_state(self, params, batch_stats) -> EstimatorState:
        return init_estimator_state(params, batch_stats, self.tx)
