"""A one-layer bidirectional GRU with PyTorch's gate math and parameter layout, on lax.scan."""

from __future__ import annotations

import functools

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
        w_ih, w_hh = self.w_ih.value.astype(dtype), self.w_hh.value.astype(dtype)
        b_ih, b_hh = self.b_ih.value.astype(dtype), self.b_hh.value.astype(dtype)
        # Time-major so every step reads a contiguous (B, 3H) slab. Input projections of every
        # step in one matmul per direction, outside the loop; the backward direction reads the
        # sequence from the end.
        x_TxBxI = jnp.swapaxes(x_BxTxI.astype(dtype), 0, 1)
        gi_TxBx3H = (x_TxBxI @ w_ih[0] + b_ih[0], x_TxBxI[::-1] @ w_ih[1] + b_ih[1])
        h_fwd_BxH, h_bwd_BxH = _recurrence(
            gi_TxBx3H, (w_hh[0], w_hh[1]), (b_hh[0], b_hh[1]), self.unroll
        )
        return jnp.concatenate([h_fwd_BxH, h_bwd_BxH], axis=-1)


# The recurrence of both directions in one loop, each a tuple (forward, backward) of arrays.
# A custom VJP: the backward loop only carries dh back through W_hh; the W_hh and b_hh gradients
# are then one large matmul over all T * B rows instead of T small ones accumulated in the loop.
Dirs = tuple[jax.Array, jax.Array]


def _cell(gi_Bx3H, h_BxH, w_hh_Hx3H, b_hh_3H):
    """One step: (h', residuals (h, r, z, n, W_hn h + b_hn)) with PyTorch's gate math."""
    gh_Bx3H = h_BxH @ w_hh_Hx3H + b_hh_3H
    i_r, i_z, i_n = jnp.split(gi_Bx3H, 3, axis=-1)
    h_r, h_z, h_n = jnp.split(gh_Bx3H, 3, axis=-1)
    r = jax.nn.sigmoid(i_r + h_r)
    z = jax.nn.sigmoid(i_z + h_z)
    n = jnp.tanh(i_n + r * h_n)
    return (1.0 - z) * n + z * h_BxH, (h_BxH, r, z, n, h_n)


def _run(gi_TxBx3H: Dirs, w_hh_Hx3H: Dirs, b_hh_3H: Dirs, unroll: int, keep_residuals: bool):
    def step(h_BxH, gi_Bx3H):
        outs = [_cell(*args) for args in zip(gi_Bx3H, h_BxH, w_hh_Hx3H, b_hh_3H, strict=True)]
        residuals = tuple(res for _, res in outs) if keep_residuals else None
        return tuple(h for h, _ in outs), residuals

    h0_BxH = tuple(
        jnp.zeros((gi.shape[1], w.shape[0]), gi.dtype)
        for gi, w in zip(gi_TxBx3H, w_hh_Hx3H, strict=True)
    )
    return jax.lax.scan(step, h0_BxH, gi_TxBx3H, unroll=unroll)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _recurrence(gi_TxBx3H: Dirs, w_hh_Hx3H: Dirs, b_hh_3H: Dirs, unroll: int = 1) -> Dirs:
    """Final hidden states of each direction, given every step's input projection."""
    return _run(gi_TxBx3H, w_hh_Hx3H, b_hh_3H, unroll, keep_residuals=False)[0]


def _recurrence_fwd(gi_TxBx3H, w_hh_Hx3H, b_hh_3H, unroll):
    h_BxH, residuals = _run(gi_TxBx3H, w_hh_Hx3H, b_hh_3H, unroll, keep_residuals=True)
    return h_BxH, (residuals, w_hh_Hx3H)


def _recurrence_bwd(unroll, saved, dh_BxH):
    residuals, w_hh_Hx3H = saved

    def step(dh_BxH, residuals_t):
        dh_prev, dgi = [], []
        for dh, (h, r, z, n, h_n), w in zip(dh_BxH, residuals_t, w_hh_Hx3H, strict=True):
            # h' = (1 - z) n + z h, n = tanh(a_n), a_n = i_n + r h_n, r/z = sigmoid(a_r/a_z).
            da_n = dh * (1.0 - z) * (1.0 - n * n)
            da_r = da_n * h_n * r * (1.0 - r)
            da_z = dh * (h - n) * z * (1.0 - z)
            dgh = jnp.concatenate([da_r, da_z, da_n * r], axis=-1)
            dh_prev.append(dh * z + dgh @ w.T)
            dgi.append(jnp.concatenate([da_r, da_z, da_n], axis=-1))
        return tuple(dh_prev), tuple(dgi)

    _, dgi_TxBx3H = jax.lax.scan(step, dh_BxH, residuals, reverse=True, unroll=unroll)
    dw_hh, db_hh = [], []
    for dgi, (h, r, *_) in zip(dgi_TxBx3H, residuals, strict=True):
        hidden = h.shape[-1]
        dgh_TxBx3H = jnp.concatenate([dgi[..., : 2 * hidden], dgi[..., 2 * hidden :] * r], -1)
        dw_hh.append(jnp.einsum("tbh,tbk->hk", h, dgh_TxBx3H))
        db_hh.append(jnp.sum(dgh_TxBx3H, axis=(0, 1)))
    return dgi_TxBx3H, tuple(dw_hh), tuple(db_hh)


_recurrence.defvjp(_recurrence_fwd, _recurrence_bwd)
