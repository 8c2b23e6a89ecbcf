"""Fully connected building blocks of the MLP and highway encoders, with PyTorch's BatchNorm."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
from flax import nnx

from jaxproxy.models import initializers as init

Dtype = jnp.dtype | type | None


class BatchNorm(nnx.Module):
    """BatchNorm over the last axis of (B, C) or (B, H, W, C) activations, with PyTorch's numbers.

    Training normalises with the biased batch variance and updates the running variance with the
    *unbiased* one, as PyTorch does (Flax's BatchNorm keeps the biased one). `momentum` is the
    weight of the old running value (Flax convention): PyTorch's momentum 0.1 is 0.9 here.
    `model.eval()` sets `use_running_average=True`; `model.train()` sets it back to False.
    Statistics are kept and computed in float32 whatever the compute dtype.
    """

    def __init__(
        self,
        num_features: int,
        *,
        momentum: float = 0.9,
        epsilon: float = 1e-5,
        use_running_average: bool = False,
        dtype: Dtype = None,
        param_dtype: Dtype = jnp.float32,
    ):
        self.scale = nnx.Param(jnp.ones((num_features,), param_dtype))
        self.bias = nnx.Param(jnp.zeros((num_features,), param_dtype))
        self.mean = nnx.BatchStat(jnp.zeros((num_features,), jnp.float32))
        self.var = nnx.BatchStat(jnp.ones((num_features,), jnp.float32))
        self.momentum = momentum
        self.epsilon = epsilon
        self.use_running_average = use_running_average
        self.dtype = dtype

    def __call__(self, x_BxC: jax.Array) -> jax.Array:
        if self.use_running_average:
            mean_C, var_C = self.mean.value, self.var.value
        else:
            # All axes but the channels (BatchNorm2d: batch, height and width).
            axes = tuple(range(x_BxC.ndim - 1))
            x32_BxC = x_BxC.astype(jnp.float32)
            mean_C = jnp.mean(x32_BxC, axis=axes)
            var_C = jnp.mean(jnp.square(x32_BxC - mean_C), axis=axes)
            n = x_BxC.size // x_BxC.shape[-1]
            unbiased_C = var_C * (n / max(n - 1, 1))
            m = self.momentum
            self.mean.value = m * self.mean.value + (1.0 - m) * mean_C
            self.var.value = m * self.var.value + (1.0 - m) * unbiased_C
        # One multiply-add per element: y = x * a + b with per-feature a, b.
        a_C = self.scale.value.astype(jnp.float32) * jax.lax.rsqrt(var_C + self.epsilon)
        b_C = self.bias.value.astype(jnp.float32) - mean_C * a_C
        dtype = self.dtype or x_BxC.dtype
        return x_BxC.astype(dtype) * a_C.astype(dtype) + b_C.astype(dtype)


def linear(
    in_features: int,
    out_features: int,
    *,
    kernel_init: init.Initializer,
    use_bias: bool,
    bias_init: init.Initializer = init.zeros,
    dtype: Dtype,
    param_dtype: Dtype,
    rngs: nnx.Rngs,
) -> nnx.Linear:
    """An nnx.Linear with the reference's initialisation spelled out at the call site."""
    return nnx.Linear(
        in_features,
        out_features,
        use_bias=use_bias,
        kernel_init=kernel_init,
        bias_init=bias_init,
        dtype=dtype,
        param_dtype=param_dtype,
        rngs=rngs,
    )


class MLPBlock(nnx.Module):
    """Linear (no bias) -> BN -> ReLU -> Linear (no bias) -> BN -> ReLU; kaiming-normal weights."""

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        out_features: int,
        *,
        dtype: Dtype = None,
        param_dtype: Dtype = jnp.float32,
        rngs: nnx.Rngs,
    ):
        kw = dict(
            kernel_init=init.kaiming_relu, use_bias=False, dtype=dtype, param_dtype=param_dtype
        )
        self.fc1 = linear(in_features, hidden_features, **kw, rngs=rngs)
        self.norm1 = BatchNorm(hidden_features, dtype=dtype, param_dtype=param_dtype)
        self.fc2 = linear(hidden_features, out_features, **kw, rngs=rngs)
        self.norm2 = BatchNorm(out_features, dtype=dtype, param_dtype=param_dtype)

    def __call__(self, x_BxI: jax.Array) -> jax.Array:
        h_BxH = jax.nn.relu(self.norm1(self.fc1(x_BxI)))
        return jax.nn.relu(self.norm2(self.fc2(h_BxH)))


class HighwayBlock(nnx.Module):
    """y = fc(x) * g(x) + x * (1 - g(x)), fc = ReLU(BN(W_f x)), g = sigmoid(W_g x + b_g).

    W_f is bias-free and kaiming-normal; W_g is xavier-normal with bias -1, so the block starts out
    mostly carrying x through. When in_features != out_features there is no gate: y = fc(x).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        dtype: Dtype = None,
        param_dtype: Dtype = jnp.float32,
        rngs: nnx.Rngs,
    ):
        dtypes = dict(dtype=dtype, param_dtype=param_dtype)
        self.fc = linear(
            in_features,
            out_features,
            kernel_init=init.kaiming_relu,
            use_bias=False,
            **dtypes,
            rngs=rngs,
        )
        self.norm = BatchNorm(out_features, **dtypes)
        self.gate = (
            linear(
                in_features,
                in_features,
                kernel_init=init.xavier_normal,
                use_bias=True,
                bias_init=jax.nn.initializers.constant(-1.0),
                **dtypes,
                rngs=rngs,
            )
            if in_features == out_features
            else None
        )

    def __call__(self, x_BxI: jax.Array) -> jax.Array:
        h_BxO = jax.nn.relu(self.norm(self.fc(x_BxI)))
        if self.gate is None:
            return h_BxO
        g_BxI = jax.nn.sigmoid(self.gate(x_BxI))
        return h_BxO * g_BxI + x_BxI.astype(h_BxO.dtype) * (1.0 - g_BxI)


class HighwayNetwork(nnx.Module):
    """`num_layers` highway blocks (in -> d_hidden, then d_hidden -> d_hidden) and a linear head.

    The head is kaiming-normal with the linear gain, N(0, 1 / d_hidden), and a zero bias.
    """

    def __init__(
        self,
        in_features: int,
        out_dim: int,
        *,
        d_hidden: int,
        num_layers: int,
        dtype: Dtype = None,
        param_dtype: Dtype = jnp.float32,
        rngs: nnx.Rngs,
    ):
        if num_layers < 1:
            raise ValueError(f"highway network: num_layers must be >= 1, got {num_layers}")
        dtypes = dict(dtype=dtype, param_dtype=param_dtype)
        widths = [in_features] + [d_hidden] * num_layers
        self.blocks = nnx.List(
            [HighwayBlock(i, o, **dtypes, rngs=rngs) for i, o in itertools.pairwise(widths)]
        )
        self.head = projection_head(d_hidden, out_dim, **dtypes, rngs=rngs)

    def __call__(self, x_BxI: jax.Array) -> jax.Array:
        for block in self.blocks:
            x_BxI = block(x_BxI)
        return self.head(x_BxI)


def projection_head(
    in_features: int, out_dim: int, *, dtype: Dtype, param_dtype: Dtype, rngs: nnx.Rngs
) -> nnx.Linear:
    """The MLP/highway head: kaiming-normal (linear gain) weights, zero bias."""
    return linear(
        in_features,
        out_dim,
        kernel_init=init.kaiming_linear,
        use_bias=True,
        dtype=dtype,
        param_dtype=param_dtype,
        rngs=rngs,
    )
