"""Speed-motivated rewrites compute exactly what the plain formulation computes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxproxy.models import gru
from jaxproxy.models.transformer import TransformerLayer
from tests.jaxproxy.models.helpers import random_presets, small_encoder, synthetic_layout


def test_first_token_only_is_the_full_layers_first_token():
    layer = TransformerLayer(16, 4, 32, rngs=nnx.Rngs(0))
    x_BxTxD = jax.random.normal(jax.random.key(1), (3, 9, 16))
    full_BxTxD = layer(x_BxTxD)
    first_Bx1xD = layer(x_BxTxD, first_token_only=True)
    assert first_Bx1xD.shape == (3, 1, 16)
    np.testing.assert_allclose(first_Bx1xD, full_BxTxD[:, :1], rtol=1e-6, atol=1e-6)


def test_tfm_output_and_gradients_match_running_every_token_through_every_layer():
    model = small_encoder("tfm")
    presets_BxP = jnp.asarray(random_presets(synthetic_layout(), 4, seed=0))

    def all_tokens_forward(m, presets_BxP):
        # The straightforward TFM: every layer on every token, then read the CLS token.
        tokens_BxTxD = m.tokenizer(presets_BxP)
        for layer in m.layers:
            tokens_BxTxD = layer(tokens_BxTxD)
        return m.head(jax.nn.relu(m.head_norm(tokens_BxTxD[:, 0])))

    def loss(m, forward):
        return jnp.sum(jnp.sin(forward(m, presets_BxP)))

    np.testing.assert_allclose(
        model(presets_BxP), all_tokens_forward(model, presets_BxP), rtol=1e-5, atol=1e-6
    )
    fast = nnx.jit(nnx.grad(lambda m: loss(m, type(m).__call__)))(model)
    slow = nnx.jit(nnx.grad(lambda m: loss(m, all_tokens_forward)))(model)
    for a, b in zip(jax.tree.leaves(fast), jax.tree.leaves(slow), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("unroll", [1, 3])
def test_gru_custom_gradient_matches_autodiff_of_the_plain_loop(unroll):
    keys = jax.random.split(jax.random.key(2), 4)
    gi = tuple(jax.random.normal(k, (7, 5, 12)) for k in keys[:2])
    w_hh = tuple(0.5 * jax.random.normal(k, (4, 12)) for k in keys[2:])
    b_hh = (jnp.linspace(-1, 1, 12), jnp.linspace(1, -1, 12))

    def loss(recurrence, *args):
        h_fwd, h_bwd = recurrence(*args)
        return jnp.sum(jnp.sin(h_fwd) * 1.3 + jnp.cos(h_bwd))

    def plain(*args):
        return gru._run(*args, unroll, keep_residuals=False)[0]

    def fast(*args):
        return gru._recurrence(*args, unroll)

    np.testing.assert_allclose(loss(fast, gi, w_hh, b_hh), loss(plain, gi, w_hh, b_hh), rtol=1e-6)
    grads = jax.grad(lambda *a: loss(fast, *a), argnums=(0, 1, 2))(gi, w_hh, b_hh)
    expected = jax.grad(lambda *a: loss(plain, *a), argnums=(0, 1, 2))(gi, w_hh, b_hh)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
