"""The pre-LN transformer encoder layer of TFM (PyTorch's TransformerEncoderLayer, norm_first)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jaxproxy.models import initializers as init
from jaxproxy.models.blocks import Dtype, linear

LAYER_NORM_EPS = 1e-5  # PyTorch's default; Flax's is 1e-6.


def layer_norm(dim: int, *, dtype: Dtype, param_dtype: Dtype, rngs: nnx.Rngs) -> nnx.LayerNorm:
    return nnx.LayerNorm(
        dim, epsilon=LAYER_NORM_EPS, dtype=dtype, param_dtype=param_dtype, rngs=rngs
    )


class TransformerLayer(nnx.Module):
    """x = x + MHA(LN1 x); x = x + W2 ReLU(W1 LN2 x). Dropout 0, no mask.

    Q, K and V come from one fused (d, 3d) projection whose columns are [q | k | v], each split
    into heads contiguously: the transpose of PyTorch's in_proj_weight. Every linear weight starts
    as trunc_normal(0.02) with a zero bias; LayerNorms start at (1, 0).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        *,
        dtype: Dtype = None,
        param_dtype: Dtype = jnp.float32,
        rngs: nnx.Rngs,
    ):
        if d_model % num_heads:
            raise ValueError(
                f"transformer layer: d_model={d_model} is not divisible by num_heads={num_heads}"
            )
        kw = dict(
            kernel_init=init.trunc_normal(0.02),
            use_bias=True,
            dtype=dtype,
            param_dtype=param_dtype,
            rngs=rngs,
        )
        self.num_heads = num_heads
        self.norm_attn = layer_norm(d_model, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
        self.qkv = linear(d_model, 3 * d_model, **kw)
        self.attn_out = linear(d_model, d_model, **kw)
        self.norm_ff = layer_norm(d_model, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
        self.ff_in = linear(d_model, d_ff, **kw)
        self.ff_out = linear(d_ff, d_model, **kw)

    def __call__(self, x_BxTxD: jax.Array, *, first_token_only: bool = False) -> jax.Array:
        """(B, T, D) -> (B, T, D); with `first_token_only`, only token 0's output, (B, 1, D).

        Token 0's output is exactly the full layer's [:, :1]: keys and values still come from
        every token, but queries, the output projection and the feed-forward run on token 0
        alone. A last layer whose caller reads only the CLS token skips most of its work.
        """
        batch, length, d_model = x_BxTxD.shape
        head_dim = d_model // self.num_heads
        qkv_BxTx3xNxH = self.qkv(self.norm_attn(x_BxTxD)).reshape(
            batch, length, 3, self.num_heads, head_dim
        )
        q_BxQxNxH, k_BxTxNxH, v_BxTxNxH = (qkv_BxTx3xNxH[:, :, i] for i in range(3))
        if first_token_only:
            x_BxTxD, q_BxQxNxH = x_BxTxD[:, :1], q_BxQxNxH[:, :1]
        attn_BxQxNxH = jax.nn.dot_product_attention(q_BxQxNxH, k_BxTxNxH, v_BxTxNxH)
        x_BxQxD = x_BxTxD + self.attn_out(attn_BxQxNxH.reshape(x_BxTxD.shape))
        ff_BxQxF = jax.nn.relu(self.ff_in(self.norm_ff(x_BxQxD)))
        return x_BxQxD + self.ff_out(ff_BxQxF)
