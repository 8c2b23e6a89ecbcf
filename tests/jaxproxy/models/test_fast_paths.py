"""Speed-motivated rewrites compute exactly what the plain formulation computes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax import lax

from jaxproxy.models import gru, strided_conv
from jaxproxy.models.estimator import SoundMatchingEstimator
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


@pytest.mark.parametrize(
    "hw,cin,cout,kernel,strides,padding",
    [
        ((13, 17), 1, 3, (5, 5), (2, 2), ((2, 2), (2, 2))),  # the estimator's first layer
        ((3, 6), 5, 4, (4, 4), (2, 2), ((2, 2), (2, 2))),  # its last: a padded row is never read
        ((9, 8), 2, 3, (3, 2), (3, 2), ((1, 0), (0, 2))),  # uneven kernel, strides and padding
    ],
)
def test_strided_conv_and_its_gradients_equal_xla_convolution(
    hw, cin, cout, kernel, strides, padding
):
    kx, kw, kdy = jax.random.split(jax.random.key(3), 3)
    x = jax.random.normal(kx, (2, *hw, cin))
    w = jax.random.normal(kw, (*kernel, cin, cout))
    dn = lax.conv_dimension_numbers(x.shape, w.shape, ("NHWC", "HWIO", "NHWC"))

    def conv(impl, x, w):
        return impl(x, w, strides, padding, dimension_numbers=dn)

    y, vjp = jax.vjp(lambda x, w: conv(strided_conv.conv_general_dilated, x, w), x, w)
    y_ref, vjp_ref = jax.vjp(lambda x, w: conv(lax.conv_general_dilated, x, w), x, w)
    np.testing.assert_array_equal(y, y_ref)  # the forward pass is XLA's own convolution
    dy = jax.random.normal(kdy, y.shape)
    for a, b in zip(vjp(dy), vjp_ref(dy), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * float(jnp.abs(b).max()))


@pytest.mark.parametrize("train", [True, False])
def test_estimator_outputs_gradients_and_statistics_equal_the_plain_conv_path(train):
    layout = synthetic_layout()
    mel = jax.random.uniform(jax.random.key(4), (3, 128, 313), minval=-100, maxval=20)

    def build(plain: bool):
        model = SoundMatchingEstimator(layout, mel_min=-100.0, mel_max=20.0, rngs=nnx.Rngs(0))
        if plain:
            for conv in model.convs:
                conv.conv_general_dilated = lax.conv_general_dilated
        model.train() if train else model.eval()
        return model

    def loss(model):
        logits = model(mel, rngs=nnx.Rngs(dropout=5))
        return jnp.sum(jnp.sin(logits)), logits

    results = []
    for plain in (False, True):
        model = build(plain)
        grads, logits = nnx.jit(nnx.grad(loss, has_aux=True))(model)
        results.append((logits, grads, nnx.state(model, nnx.BatchStat)))
    (logits, grads, stats), (logits_ref, grads_ref, stats_ref) = results
    np.testing.assert_allclose(logits, logits_ref, rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(grads_ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * float(jnp.abs(b).max()))
    for a, b in zip(jax.tree.leaves(stats), jax.tree.leaves(stats_ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
