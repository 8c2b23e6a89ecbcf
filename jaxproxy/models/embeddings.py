"""Input layers: one-hot encoding, input validity.

Encoders take either *hard* presets float32[B, P] (categorical entries hold category indices) or
*soft* presets float32[B, W] in the one-hot layout (`PresetLayout.onehot_width` columns:
numerical values and binary probabilities, then one probability vector per categorical
parameter). A soft input embeds as the expectation of the hard embeddings: the one-hot encoder
takes it as is, the tokenizer (`models.tokenizer`) mixes the categorical table rows with the
probabilities. So `one_hot_encode(presets)` fed as a soft input gives exactly the hard output,
and gradients reach the categorical and binary inputs too.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxproxy.models.blocks import Dtype
from jaxproxy.models.layout import PresetLayout


def _onehot_columns(layout: PresetLayout) -> tuple[np.ndarray, np.ndarray]:
    """For each one-hot column: the preset entry it reads, and the category it tests (-1: raw)."""
    source = [layout.noncat_idx]
    category = [np.full(layout.n_noncat, -1, np.int64)]
    for idx, card in zip(layout.cat_idx, layout.cat_cards, strict=True):
        source.append(np.full(card, idx, np.int64))
        category.append(np.arange(card, dtype=np.int64))
    return np.concatenate(source), np.concatenate(category)


def one_hot_encode(presets_BxP: jax.Array, layout: PresetLayout, dtype: Dtype = None) -> jax.Array:
    """Presets -> [noncat raw values | one-hot of each categorical], float[B, onehot_width].

    One constant-index gather and a compare against constant category ids (no scatter), which
    XLA fuses into a single elementwise kernel.
    """
    source_W, category_W = _onehot_columns(layout)
    picked_BxW = presets_BxP[:, source_W]
    is_cat_W = category_W >= 0
    hit_BxW = picked_BxW == category_W.astype(presets_BxP.dtype)
    onehot_BxW = jnp.where(is_cat_W, hit_BxW.astype(presets_BxP.dtype), picked_BxW)
    return onehot_BxW.astype(dtype or jnp.float32)


def valid_presets(presets_BxP: jax.Array, layout: PresetLayout) -> jax.Array:
    """bool[B]: every numerical/binary value in [0, 1], every category an integer in [0, card).

    Under jit no error can be raised, so the encoders give invalid rows a NaN embedding instead
    (a loss on them is NaN, which the trainers' NaN stop reports) rather than a silent all-zero
    one-hot or a neighbouring parameter's table row.
    """
    noncat_BxN = presets_BxP[:, layout.noncat_idx]
    ok_B = jnp.all((noncat_BxN >= 0) & (noncat_BxN <= 1), axis=1)
    if layout.n_cat:
        cat_BxK = presets_BxP[:, layout.cat_idx]
        cards_K = jnp.asarray(layout.cat_cards, presets_BxP.dtype)
        whole_BxK = (cat_BxK == jnp.round(cat_BxK)) & (cat_BxK >= 0) & (cat_BxK < cards_K)
        ok_B = ok_B & jnp.all(whole_BxK, axis=1)
    return ok_B


def nan_where_invalid(emb_BxE: jax.Array, valid_B: jax.Array) -> jax.Array:
    return jnp.where(valid_B[:, None], emb_BxE, jnp.nan)


def check_soft(soft_BxW: jax.Array, layout: PresetLayout, model: str) -> None:
    if soft_BxW.ndim != 2 or soft_BxW.shape[1] != layout.onehot_width:
        raise ValueError(
            f"{model}: soft presets must have shape (batch, {layout.onehot_width}) (the one-hot "
            f"layout) for synth {layout.name!r}, got {soft_BxW.shape}"
        )
