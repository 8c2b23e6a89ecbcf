"""PyTorch's initialisers as the reference uses them, for kernels stored (in, out) as in Flax."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

Initializer = jax.nn.initializers.Initializer

# kaiming_normal_(mode="fan_in", nonlinearity="relu"): N(0, 2 / fan_in), not truncated.
kaiming_relu = jax.nn.initializers.variance_scaling(2.0, "fan_in", "normal")
# kaiming_normal_(mode="fan_in", nonlinearity="linear"): N(0, 1 / fan_in).
kaiming_linear = jax.nn.initializers.variance_scaling(1.0, "fan_in", "normal")
# xavier_normal_: N(0, 2 / (fan_in + fan_out)).
xavier_normal = jax.nn.initializers.variance_scaling(1.0, "fan_avg", "normal")
zeros = jax.nn.initializers.zeros
ones = jax.nn.initializers.ones


def trunc_normal(std: float = 0.02, lower: float = -2.0, upper: float = 2.0) -> Initializer:
    """torch.nn.init.trunc_normal_: N(0, std) cut at *absolute* bounds (default ±2: ±100 std)."""

    def init(key: jax.Array, shape, dtype=jnp.float32) -> jax.Array:
        unit = jax.random.truncated_normal(key, lower / std, upper / std, shape, jnp.float32)
        return (unit * std).astype(dtype)

    return init


def torch_linear_bias(fan_in: int) -> Initializer:
    """PyTorch's default nn.Linear bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)

    def init(key: jax.Array, shape, dtype=jnp.float32) -> jax.Array:
        return jax.random.uniform(key, shape, jnp.float32, -bound, bound).astype(dtype)

    return init


def stacked(init: Initializer) -> Initializer:
    """Applies `init` independently to each slice along axis 0 (e.g. the two GRU directions)."""

    def stacked_init(key: jax.Array, shape, dtype=jnp.float32) -> jax.Array:
        keys = jax.random.split(key, shape[0])
        return jax.vmap(lambda k: init(k, tuple(shape[1:]), dtype))(keys)

    return stacked_init
