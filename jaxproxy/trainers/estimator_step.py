"""The estimator's pure train and eval steps: parameter loss + audio-embedding loss via a proxy.

The proxy is frozen: its weights are an argument of the jitted step (replicated, never
optimized or donated), and it is the exported artefact (`jaxproxy.load_proxy`), so estimator
training uses exactly what a user would load.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.sharding import Mesh

from jaxproxy import losses, schedules, sharding
from jaxproxy.models.estimator import decode_presets, soft_presets
from jaxproxy.models.layout import PresetLayout
from jaxproxy.trainers.proxy_step import ModelDef, apply_update, scan_steps

MEL, PRESETS, TARGETS = "mel", "params", "embedding"
AUDIO_INPUTS = ("hard", "probs", "straight_through", "gumbel")


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


def make_optimizer(config: Any) -> optax.GradientTransformation:
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


def init_state(params, batch_stats, tx: optax.GradientTransformation) -> EstimatorState:
    return EstimatorState(
        step=jnp.zeros((), jnp.int32),
        params=params,
        batch_stats=batch_stats,
        opt_state=tx.init(params),
        first_bad_step=jnp.full((), -1, jnp.int32),
        plateau=schedules.PlateauState.create(),
    )


def uses_audio_loss(config: Any) -> bool:
    """False for PLoss: the proxy is not run at all (as the reference disables it)."""
    return schedules.has_audio_loss(config.loss_schedule)


def proxy_embedding(
    proxy: Any, proxy_weights, logits_BxW: jax.Array, layout: PresetLayout, config, key
) -> jax.Array:
    """proxy(decoded logits): hard decoding (the paper) or a soft variant (config.audio_input)."""
    if config.audio_input == "hard":
        return proxy.apply(proxy_weights, decode_presets(logits_BxW, layout))
    soft_BxW = soft_presets(
        logits_BxW, layout, mode=config.audio_input, key=key, temperature=config.gumbel_temperature
    )
    return proxy.apply_soft(proxy_weights, soft_BxW)


def make_train_step(
    model_def: ModelDef,
    tx: optax.GradientTransformation,
    layout: PresetLayout,
    proxy: Any,
    config: Any,
    total_steps: int,
) -> Callable:
    """Returns the pure `train_step(state, proxy_weights, batches) -> (state, metrics)`.

    Loss = w_p(step) * L_p + w_a(step) * L_a (facts 9.3-9.4); dropout keys are
    fold_in(seed, step), so a resumed run draws the same masks.
    """
    if config.audio_input not in AUDIO_INPUTS:
        raise ValueError(f"audio_input must be one of {AUDIO_INPUTS}, got {config.audio_input!r}")
    w_p, w_a = schedules.loss_weight_schedules(
        config.loss_schedule, total_steps, config.ramp_start_frac, config.ramp_warm_frac
    )
    with_audio = uses_audio_loss(config)
    base_key = jax.random.key(config.seed)

    def loss_fn(params, batch_stats, proxy_weights, batch, step):
        model = nnx.merge(model_def.train_graph, params, batch_stats, model_def.rest, copy=True)
        key = jax.random.fold_in(base_key, step)
        logits_BxW = model(batch[MEL], rngs=nnx.Rngs(dropout=key))
        loss_p, parts = losses.parameter_loss(
            logits_BxW, batch[PRESETS], layout, label_smoothing=config.label_smoothing
        )
        metrics = {"loss_p": loss_p, **parts, "w_p": w_p(step), "w_a": w_a(step)}
        total = w_p(step) * loss_p
        if with_audio:
            emb_BxE = proxy_embedding(
                proxy, proxy_weights, logits_BxW, layout, config, jax.random.fold_in(key, 1)
            )
            metrics["loss_a"] = losses.embedding_l1(emb_BxE, batch[TARGETS])
            total = total + w_a(step) * metrics["loss_a"]
        metrics["loss"] = total
        return total, (nnx.state(model, nnx.BatchStat), metrics)

    return warmup_plateau_step(loss_fn, tx, config)


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


def make_eval_step(
    model_def: ModelDef, layout: PresetLayout, proxy: Any, config: Any
) -> Callable[[EstimatorState, Any, Mapping[str, jax.Array]], dict[str, jax.Array]]:
    """Eval-mode means over a batch: parameter-loss parts, L_p and, with a proxy (`proxy` None
    for PLoss, which never runs it), the hard-decoded L_a."""

    def eval_step(state: EstimatorState, proxy_weights, batch):
        model = nnx.merge(model_def.eval_graph, state.params, state.batch_stats, model_def.rest)
        logits_BxW = model(batch[MEL])
        loss_p, parts = losses.parameter_loss(
            logits_BxW, batch[PRESETS], layout, label_smoothing=config.label_smoothing
        )
        presets_BxP = decode_presets(logits_BxW, layout)
        if proxy is not None:
            emb_BxE = proxy.apply(proxy_weights, presets_BxP)
            parts = dict(parts, a_l1=losses.embedding_l1(emb_BxE, batch[TARGETS]))
        cat_hits = presets_BxP[:, layout.cat_idx] == batch[PRESETS][:, layout.cat_idx]
        bin_hits = presets_BxP[:, layout.bin_idx] == batch[PRESETS][:, layout.bin_idx]
        num_err = jnp.abs(presets_BxP[:, layout.num_idx] - batch[PRESETS][:, layout.num_idx])
        return {
            "loss_p": loss_p,
            **parts,
            "num_mae": jnp.mean(num_err) if num_err.size else jnp.zeros(()),
            "cat_acc": jnp.mean(cat_hits) if cat_hits.size else jnp.zeros(()),
            "bin_acc": jnp.mean(bin_hits) if bin_hits.size else jnp.zeros(()),
        }

    return eval_step


def make_predict_step(model_def: ModelDef, layout: PresetLayout) -> Callable:
    """`predict(state, mel_BxMxT) -> presets_BxP`: eval mode, hard decoding (what is rendered)."""

    def predict(state: EstimatorState, mel_BxMxT: jax.Array) -> jax.Array:
        model = nnx.merge(model_def.eval_graph, state.params, state.batch_stats, model_def.rest)
        return decode_presets(model(mel_BxMxT), layout)

    return predict
