"""Soft inputs (probabilities in the one-hot layout) and the rule for invalid hard presets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxproxy.models import ENCODERS
from jaxproxy.models.embeddings import one_hot_encode
from tests.jaxproxy.models.helpers import random_presets, small_encoder, synthetic_layout


def _eval_fn(name):
    model = small_encoder(name)
    model.eval()
    graphdef, state = nnx.split(model)
    return jax.jit(lambda x, soft: nnx.merge(graphdef, state)(x, soft=soft), static_argnames="soft")


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_soft_one_hot_equals_hard_exactly(name):
    layout = synthetic_layout()
    encode = _eval_fn(name)
    presets = jnp.asarray(random_presets(layout, batch=6, seed=1))
    soft = one_hot_encode(presets, layout)
    np.testing.assert_array_equal(encode(soft, soft=True), encode(presets, soft=False))


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_soft_gradient_reaches_every_parameter_kind(name):
    layout = synthetic_layout()
    encode = _eval_fn(name)
    soft = one_hot_encode(jnp.asarray(random_presets(layout, batch=4, seed=2)), layout)
    # Move off the one-hot corners so no ReLU region or tie makes a column's gradient vanish.
    soft = 0.7 * soft + 0.3 * jax.random.uniform(jax.random.key(0), soft.shape)
    grad = jax.grad(lambda x: jnp.sum(jnp.sin(encode(x, soft=True))))(soft)
    # Columns: numerical values, binary probabilities, then every category of every categorical.
    width_seen = np.abs(np.asarray(grad)).sum(0)
    assert np.all(width_seen > 0), f"columns with zero gradient: {np.flatnonzero(width_seen == 0)}"


@pytest.mark.parametrize("name", ["hn_oh", "tfm"])
@pytest.mark.parametrize(
    "column,value", [(0, 2.0000002), (0, -1.0), (0, 99.0), (0, 0.5), (1, 1.5), (2, -0.1)]
)
def test_invalid_hard_row_gives_nan_embedding_row(name, column, value):
    layout = synthetic_layout()  # column 0: categorical of 3; 1: numerical; 2: binary
    encode = _eval_fn(name)
    presets = np.asarray(random_presets(layout, batch=3, seed=3))
    presets[1, column] = value
    emb = np.asarray(encode(jnp.asarray(presets), soft=False))
    assert np.all(np.isnan(emb[1]))
    assert np.all(np.isfinite(emb[[0, 2]]))


def test_soft_shape_is_checked():
    with pytest.raises(ValueError, match=r"soft presets must have shape \(batch, 15\)"):
        small_encoder("tfm")(jnp.zeros((2, 8)), soft=True)
