"""Sound-matching losses (facts 9.3): the parameter loss and the audio-embedding loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxproxy.models.estimator import split_logits
from jaxproxy.models.layout import PresetLayout

CAT_WEIGHT = 0.01  # lw_cat: the categorical cross-entropies' weight in the parameter loss


def parameter_loss(
    logits_BxW: jax.Array,
    presets_BxP: jax.Array,
    layout: PresetLayout,
    *,
    label_smoothing: float,
    cat_weight: float = CAT_WEIGHT,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """L_p = L1(sigmoid(num), num) + BCE(bin) + cat_weight * sum_k CE_k(label smoothing).

    Each term is a batch mean (the L1 and BCE also over their parameters); the cross-entropies
    are summed over categorical parameters. Returns (L_p, {"num_l1", "bin_bce", "cat_ce"}).
    """
    logits_BxW = logits_BxW.astype(jnp.float32)
    noncat_BxN, cats = split_logits(logits_BxW, layout)
    noncat_pos = {int(i): n for n, i in enumerate(layout.noncat_idx)}
    zero = jnp.zeros((), jnp.float32)
    parts = {"num_l1": zero, "bin_bce": zero, "cat_ce": zero}
    if len(layout.num_idx):
        cols = [noncat_pos[int(i)] for i in layout.num_idx]
        pred_BxN = jax.nn.sigmoid(noncat_BxN[:, cols])
        parts["num_l1"] = jnp.mean(jnp.abs(pred_BxN - presets_BxP[:, layout.num_idx]))
    if len(layout.bin_idx):
        cols = [noncat_pos[int(i)] for i in layout.bin_idx]
        bce = optax.sigmoid_binary_cross_entropy(
            noncat_BxN[:, cols], presets_BxP[:, layout.bin_idx]
        )
        parts["bin_bce"] = jnp.mean(bce)
    for k, logits_BxC in enumerate(cats):
        card = logits_BxC.shape[1]
        target_B = presets_BxP[:, layout.cat_idx[k]].astype(jnp.int32)
        # PyTorch's label smoothing: (1 - ls) * one_hot + ls / C.
        labels_BxC = optax.smooth_labels(jax.nn.one_hot(target_B, card), label_smoothing)
        parts["cat_ce"] += jnp.mean(optax.softmax_cross_entropy(logits_BxC, labels_BxC))
    total = parts["num_l1"] + parts["bin_bce"] + cat_weight * parts["cat_ce"]
    return total, parts


def embedding_l1(emb_BxE: jax.Array, target_BxE: jax.Array) -> jax.Array:
    """The audio-embedding ("perceptual") loss L_a: mean |proxy(decoded) - target|."""
    return jnp.mean(jnp.abs(emb_BxE.astype(jnp.float32) - target_BxE.astype(jnp.float32)))
