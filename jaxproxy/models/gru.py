"""A one-layer bidirectional GRU with PyTorch's gate math and parameter layout, on lax.scan."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jaxproxy.models import initializers as init
from jaxproxy.models.blocks import Dtype


class BiGRU(nnx.Module):
    """Bidirectional GRU returning the final hidden states [h_fwd(T-1), h_bwd(0)], (B, 2H).

    Gates follow torch.nn.GRU (order r, z, n; separate input and hidden biases):
      r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
      n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h.
    Kernels are stacked per direction (axis 0: forward, backward) and stored (in, 3H) per direction,
    i.e. the transpose of PyTorch's weight_ih_l0 / weight_hh_l0 (+ "_reverse"). Init as the
    reference: xavier-normal input kernels, orthogonal hidden kernels, zero biases.
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        *,
        unroll: int = 1,
        dtype: Dtype = None,
        param_dtype: Dtype = jnp.float32,
        rngs: nnx.Rngs,
    ):
        h3 = 3 * hidden_features
        self.hidden_features = hidden_features
        self.unroll = unroll
        self.dtype = dtype
        self.w_ih = nnx.Param(
            init.stacked(init.xavier_normal)(rngs.params(), (2, in_features, h3), param_dtype)
        )
        # PyTorch makes the (3H, H) matrix orthogonal; its transpose (H, 3H) has orthonormal rows.
        self.w_hh = nnx.Param(
            init.stacked(jax.nn.initializers.orthogonal())(
                rngs.params(), (2, hidden_features, h3), param_dtype
            )
        )
        self.b_ih = nnx.Param(jnp.zeros((2, h3), param_dtype))
        self.b_hh = nnx.Param(jnp.zeros((2, h3), param_dtype))

    def __call__(self, x_BxTxI: jax.Array) -> jax.Array:
        dtype = self.dtype or jnp.float32
        hidden = self.hidden_features
        batch = x_BxTxI.shape[0]
        w_ih, w_hh = self.w_ih.value.astype(dtype), self.w_hh.value.astype(dtype)
        b_ih, b_hh = self.b_ih.value.astype(dtype), self.b_hh.value.astype(dtype)
        # Input projections of every step for both directions in one matmul, outside the loop.
        gi_Tx2xBx3H = jnp.einsum("bti,dik->tdbk", x_BxTxI.astype(dtype), w_ih) + b_ih[:, None]
        # The backward direction reads the sequence from the end.
        gi_Tx2xBx3H = jnp.concatenate([gi_Tx2xBx3H[:, :1], gi_Tx2xBx3H[::-1, 1:]], axis=1)

        def step(h_2xBxH: jax.Array, gi_2xBx3H: jax.Array) -> tuple[jax.Array, None]:
            gh_2xBx3H = jnp.einsum("dbh,dhk->dbk", h_2xBxH, w_hh) + b_hh[:, None]
            i_r, i_z, i_n = jnp.split(gi_2xBx3H, 3, axis=-1)
            h_r, h_z, h_n = jnp.split(gh_2xBx3H, 3, axis=-1)
            r = jax.nn.sigmoid(i_r + h_r)
            z = jax.nn.sigmoid(i_z + h_z)
            n = jnp.tanh(i_n + r * h_n)
            return (1.0 - z) * n + z * h_2xBxH, None

        h0_2xBxH = jnp.zeros((2, batch, hidden), dtype)
        h_2xBxH, _ = jax.lax.scan(step, h0_2xBxH, gi_Tx2xBx3H, unroll=self.unroll)
        return jnp.concatenate([h_2xBxH[0], h_2xBxH[1]], axis=-1)
