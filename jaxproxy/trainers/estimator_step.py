"""The estimator's pure train and eval steps: parameter loss + audio-embedding loss via a proxy.

The proxy is frozen: its weights are an argument of the jitted step (replicated, never
optimized or donated), and it is the exported artefact (`jaxproxy.load_proxy`), so estimator
training uses exactly what a user would load.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jaxproxy import losses, schedules
from jaxproxy.configs.estimator import AUDIO_INPUTS
from jaxproxy.models.estimator import decode_presets, soft_presets
from jaxproxy.models.functional import ModelDef
from jaxproxy.models.layout import PresetLayout
from jaxproxy.train_state import EstimatorState
from jaxproxy.trainers.split_training import MEL, PRESETS, warmup_plateau_step

TARGETS = "embedding"


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
