"""The sound-matching estimator: the digest's parameter counts and shapes, init, decoding."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxproxy.models import count_params
from jaxproxy.models.embeddings import one_hot_encode
from jaxproxy.models.estimator import SoundMatchingEstimator, decode_presets, soft_presets
from tests.jaxproxy.models.helpers import synthetic_layout, tsv_layout


@pytest.mark.parametrize("synth,width,count", [("dexed", 141, 4_138_567), ("diva", 396, 4_661_572)])
def test_parameter_count_and_output_width_equal_the_digest(synth, width, count):
    layout = tsv_layout(synth)
    model = nnx.eval_shape(lambda: SoundMatchingEstimator(layout, rngs=nnx.Rngs(0)))
    assert model.out_dim == width == layout.onehot_width
    assert count_params(model) == count


def test_shapes_scaling_and_kaiming_leaky_init():
    layout = synthetic_layout()
    model = SoundMatchingEstimator(layout, mel_min=-100.0, mel_max=20.0, rngs=nnx.Rngs(0))
    mel = jax.random.uniform(jax.random.key(0), (4, 128, 313), minval=-100, maxval=20)
    model.train()
    logits = model(mel, rngs=nnx.Rngs(dropout=1))
    assert logits.shape == (4, layout.onehot_width) and bool(jnp.all(jnp.isfinite(logits)))
    np.testing.assert_allclose(model.scale(jnp.array([-100.0, 20.0])), [-1.0, 1.0])
    # kaiming_normal_(fan_in, leaky_relu, a=0.1): std sqrt(2 / (1.01 fan_in)).
    kernel = np.asarray(model.convs[6].kernel.value)  # 4 x 4 x 256 x 512
    assert kernel.std() == pytest.approx(np.sqrt(2 / (1.01 * 4 * 4 * 256)), rel=0.02)
    model.eval()
    np.testing.assert_array_equal(model(mel), model(mel))  # no dropout in eval mode


def test_decoding_hard_and_soft():
    layout = synthetic_layout()  # kinds: cat3, num, bin, cat5, num, num, cat2, bin
    logits = jax.random.normal(jax.random.key(1), (6, layout.onehot_width)) * 3
    presets = decode_presets(logits, layout)
    assert presets.shape == (6, layout.n_used)
    cats = np.asarray(presets[:, layout.cat_idx])
    assert np.all(cats == np.round(cats)) and np.all(cats < layout.cat_cards)
    assert set(np.unique(presets[:, layout.bin_idx]).tolist()) <= {0.0, 1.0}
    probs = soft_presets(logits, layout)
    assert probs.shape == (6, layout.onehot_width)
    cat_part = np.asarray(probs[:, layout.n_noncat :])
    np.testing.assert_allclose(cat_part[:, :3].sum(1), 1.0, rtol=1e-6)
    # Straight-through: forward values are exactly the hard decoding's one-hot form.
    st = soft_presets(logits, layout, mode="straight_through")
    np.testing.assert_allclose(st, one_hot_encode(presets, layout), atol=1e-6)
    grad = jax.grad(lambda x: jnp.sum(soft_presets(x, layout, mode="straight_through") ** 2))(
        logits
    )
    assert np.all(np.abs(np.asarray(grad)).sum(0) > 0)  # every logit column gets a gradient
    gumbel = soft_presets(logits, layout, mode="gumbel", key=jax.random.key(2))
    assert gumbel.shape == st.shape and np.all((gumbel >= 0) & (gumbel <= 1))
    with pytest.raises(ValueError, match="needs a PRNG key"):
        soft_presets(logits, layout, mode="gumbel")
