"""The paper's preset tokenizer (PT): one token per used parameter, optional CLS and positions.

Used by HN-PT (no positions, no CLS), HN-PTGRU (sinusoidal positions) and TFM (CLS + positions).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxproxy.models import initializers as init
from jaxproxy.models.blocks import Dtype
from jaxproxy.models.layout import PresetLayout


def _category_owner(layout: PresetLayout) -> np.ndarray:
    """float32[K, sum_card]: 1 where table row c belongs to categorical parameter k."""
    owner_KxC = np.zeros((layout.n_cat, layout.sum_card), np.float32)
    for k, (offset, card) in enumerate(zip(layout.cat_offsets, layout.cat_cards, strict=True)):
        owner_KxC[k, offset : offset + card] = 1.0
    return owner_KxC


def sinusoidal_positions(length: int, dim: int) -> np.ndarray:
    """Fixed positions pe[p, 2i] = sin(p / 10000^(2i/dim)), pe[p, 2i+1] = cos(same), float32."""
    position_T = np.arange(length, dtype=np.float64)[:, None]
    freq = np.exp(-np.log(10000.0) * np.arange(0, dim, 2, dtype=np.float64) / dim)
    pe_TxD = np.zeros((length, dim), np.float64)
    pe_TxD[:, 0::2] = np.sin(position_T * freq)
    pe_TxD[:, 1::2] = np.cos(position_T * freq)[:, : dim // 2]
    return pe_TxD.astype(np.float32)


class Buffer(nnx.BatchStat):
    """Fixed state saved with the weights, as a PyTorch buffer is: no gradient, nothing updates it.

    It travels with the BatchNorm statistics (the non-trainable collection) through training,
    checkpoints and exports, so a table converted from a reference checkpoint is used as stored.
    """


class PresetTokenizer(nnx.Module):
    """The paper's preset tokenizer (PT): one d_token token per used parameter, in used order.

    Numerical/binary parameter j: x_j * v_j with a learned v_j (no bias). Categorical parameter k:
    row offset_k + x_k of one shared table. Optionally a learned CLS token is prepended and fixed
    sinusoidal positions are added to every token (the CLS at position 0). All learned tensors
    start as trunc_normal(0.02). The position table is a `Buffer` (float32 [tokens, d_token]):
    computed here in float64 and rounded, or loaded as stored from a reference checkpoint, whose
    float32 table (torch's own sin/cos) differs in the last bits.
    """

    def __init__(
        self,
        layout: PresetLayout,
        d_token: int,
        *,
        has_cls: bool = False,
        positional: bool = False,
        dtype: Dtype = None,
        param_dtype: Dtype = jnp.float32,
        rngs: nnx.Rngs,
    ):
        normal = init.trunc_normal(0.02)
        self.layout = layout
        self.d_token = d_token
        self.has_cls = has_cls
        self.positional = positional
        self.dtype = dtype
        self.noncat_weight = nnx.Param(
            normal(rngs.params(), (layout.n_noncat, d_token), param_dtype)
        )
        self.cat_table = nnx.Param(normal(rngs.params(), (layout.sum_card, d_token), param_dtype))
        self.cls_token = (
            nnx.Param(normal(rngs.params(), (1, d_token), param_dtype)) if has_cls else None
        )
        self.positions = (
            Buffer(jnp.asarray(sinusoidal_positions(self.num_tokens, d_token)))
            if positional
            else None
        )

    @property
    def num_tokens(self) -> int:
        return self.layout.n_used + int(self.has_cls)

    def __call__(self, presets: jax.Array, *, soft: bool = False) -> jax.Array:
        """Hard presets [B, P] or soft ones [B, onehot_width] -> tokens [B, num_tokens, d]."""
        layout = self.layout
        dtype = self.dtype or jnp.float32
        batch = presets.shape[0]
        table_CxD = self.cat_table.value.astype(dtype)
        parts = []  # [noncat tokens | categorical tokens]; a synth may lack either kind
        if layout.n_noncat:
            noncat_BxN = (
                presets[:, : layout.n_noncat] if soft else presets[:, layout.noncat_idx]
            ).astype(dtype)
            parts.append(noncat_BxN[:, :, None] * self.noncat_weight.value.astype(dtype))
        if layout.n_cat and soft:
            # Expected token per parameter: its probabilities times its own rows of the table.
            # HIGHEST precision keeps one-hot probabilities exact (1 * row + 0 * others).
            probs_BxC = presets[:, layout.n_noncat :].astype(dtype)
            owner_KxC = _category_owner(layout)
            mixed_BxKxC = probs_BxC[:, None, :] * owner_KxC.astype(dtype)
            parts.append(jnp.matmul(mixed_BxKxC, table_CxD, precision=jax.lax.Precision.HIGHEST))
        elif layout.n_cat:
            ids_BxK = presets[:, layout.cat_idx].astype(jnp.int32) + layout.cat_offsets
            # mode="clip": an invalid id must stay in range (the encoder NaNs that row anyway).
            parts.append(jnp.take(table_CxD, ids_BxK, axis=0, mode="clip"))
        tokens_BxPxD = jnp.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        # Concatenation order is [noncat | cat]; put every token back at its parameter's position.
        order = np.argsort(np.concatenate([layout.noncat_idx, layout.cat_idx]))
        if not np.array_equal(order, np.arange(layout.n_used)):
            tokens_BxPxD = tokens_BxPxD[:, order]
        if self.cls_token is not None:
            cls_Bx1xD = jnp.broadcast_to(
                self.cls_token.value.astype(dtype), (batch, 1, self.d_token)
            )
            tokens_BxPxD = jnp.concatenate([cls_Bx1xD, tokens_BxPxD], axis=1)
        if self.positions is not None:
            tokens_BxPxD = tokens_BxPxD + self.positions[...].astype(dtype)
        return tokens_BxPxD
