"""Tests for the building blocks: BatchNorm semantics, highway gates, tokenizer, initialisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxproxy.models import PresetLayout, build_encoder
from jaxproxy.models.blocks import BatchNorm, HighwayBlock
from jaxproxy.models.embeddings import one_hot_encode
from jaxproxy.models.gru import BiGRU
from jaxproxy.models.tokenizer import PresetTokenizer, sinusoidal_positions
from tests.jaxproxy.models.helpers import random_presets, small_encoder, synthetic_layout


def test_batchnorm_train_uses_batch_stats_and_updates_running_ones():
    bn = BatchNorm(3)
    x = jax.random.normal(jax.random.key(0), (16, 3)) * 4.0 + 2.0
    y = bn(x)
    np.testing.assert_allclose(np.mean(y, 0), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.var(y, 0), 1.0, atol=1e-3)  # biased variance normalises
    # PyTorch's update: momentum 0.1 on the batch mean and on the *unbiased* batch variance.
    np.testing.assert_allclose(bn.mean.value, 0.1 * np.mean(x, 0), rtol=1e-5)
    np.testing.assert_allclose(bn.var.value, 0.9 + 0.1 * np.var(x, 0, ddof=1), rtol=1e-5)


def test_batchnorm_eval_uses_running_stats_and_leaves_them():
    model = small_encoder("hn_oh")
    presets = jnp.asarray(random_presets(synthetic_layout(), batch=6))
    before = jax.tree.map(jnp.copy, nnx.state(model, nnx.BatchStat))
    model.eval()
    eval_out = model(presets)
    after_eval = nnx.state(model, nnx.BatchStat)
    jax.tree.map(np.testing.assert_array_equal, before, after_eval)
    # Eval is per-example: one preset alone gives the same embedding as within the batch.
    np.testing.assert_allclose(model(presets[:1]), eval_out[:1], rtol=1e-5, atol=1e-6)
    model.train()
    train_out = model(presets)
    assert float(jnp.max(jnp.abs(train_out - eval_out))) > 1e-3
    changed = jax.tree.map(
        lambda a, b: bool(jnp.any(a != b)), before, nnx.state(model, nnx.BatchStat)
    )
    assert any(jax.tree.leaves(changed))


def test_highway_first_block_is_plain_and_gates_start_closed():
    plain = HighwayBlock(5, 7, rngs=nnx.Rngs(0))
    assert plain.gate is None
    gated = HighwayBlock(7, 7, rngs=nnx.Rngs(1))
    np.testing.assert_array_equal(gated.gate.bias.value, -1.0)
    x = jax.random.normal(jax.random.key(2), (4, 7))
    h = jax.nn.relu(gated.norm(gated.fc(x)))
    gated.norm.mean.value = jnp.zeros(7)  # undo the running-stat update of the line above
    g = jax.nn.sigmoid(x @ gated.gate.kernel.value - 1.0)
    np.testing.assert_allclose(gated(x), h * g + x * (1 - g), rtol=1e-5, atol=1e-6)


def test_tokenizer_puts_each_token_at_its_parameter():
    layout = synthetic_layout()
    tok = PresetTokenizer(layout, 6, has_cls=True, positional=True, rngs=nnx.Rngs(0))
    presets = random_presets(layout, batch=3)
    tokens = np.asarray(tok(jnp.asarray(presets)))
    assert tokens.shape == (3, 1 + layout.n_used, 6)
    pe = sinusoidal_positions(1 + layout.n_used, 6)
    table, weight = np.asarray(tok.cat_table.value), np.asarray(tok.noncat_weight.value)
    cls = np.asarray(tok.cls_token.value)[0] + pe[0]
    np.testing.assert_allclose(tokens[:, 0], np.broadcast_to(cls, (3, 6)), rtol=1e-6)
    for j, idx in enumerate(layout.noncat_idx):
        expected = presets[:, idx, None] * weight[j] + pe[1 + idx]
        np.testing.assert_allclose(tokens[:, 1 + idx], expected, rtol=1e-5, atol=1e-6)
    for k, idx in enumerate(layout.cat_idx):
        rows = layout.cat_offsets[k] + presets[:, idx].astype(int)
        np.testing.assert_allclose(tokens[:, 1 + idx], table[rows] + pe[1 + idx], rtol=1e-6)


def test_sinusoidal_positions_formula():
    pe = sinusoidal_positions(7, 8)
    p, i = 5, 3
    np.testing.assert_allclose(pe[p, 2 * i], np.sin(p / 10000 ** (2 * i / 8)), rtol=1e-6)
    np.testing.assert_allclose(pe[p, 2 * i + 1], np.cos(p / 10000 ** (2 * i / 8)), rtol=1e-6)
    np.testing.assert_array_equal(pe[0, 1::2], 1.0)


def _std(x):
    return float(np.std(np.asarray(x)))


@pytest.mark.parametrize("name", ["mlp_oh", "hn_ptgru", "tfm"])  # hn_oh: same net as hn_ptgru
def test_initialisation_follows_the_reference(name):
    layout = synthetic_layout()
    sizes = {
        "mlp_oh": {"d_hidden": 256},
        "hn_ptgru": {"d_hidden": 256, "d_token": 64},
        "tfm": {"d_ff": 512, "num_layers": 1},
    }
    model = build_encoder(name, layout, 96, rngs=nnx.Rngs(0), **sizes[name])
    if name == "tfm":
        layer = model.layers[0]
        for linear in (layer.qkv, layer.attn_out, layer.ff_in, layer.ff_out):
            assert _std(linear.kernel.value) == pytest.approx(0.02, rel=0.05)
            np.testing.assert_array_equal(linear.bias.value, 0.0)
        assert _std(model.head.kernel.value) == pytest.approx(np.sqrt(2 / 256), rel=0.05)
        bias = np.asarray(model.head.bias.value)
        assert np.all(np.abs(bias) <= 1 / 16) and _std(bias) == pytest.approx(
            1 / 16 / 3**0.5, rel=0.3
        )
        assert _std(model.tokenizer.cat_table.value) == pytest.approx(0.02, rel=0.15)
        return
    network = model if name == "mlp_oh" else model.network
    first = network.blocks[0].fc1 if name == "mlp_oh" else network.blocks[0].fc
    fan_in = first.kernel.value.shape[0]
    assert _std(first.kernel.value) == pytest.approx(np.sqrt(2 / fan_in), rel=0.1)
    assert _std(network.head.kernel.value) == pytest.approx(np.sqrt(1 / 256), rel=0.05)
    np.testing.assert_array_equal(network.head.bias.value, 0.0)
    if name != "mlp_oh":
        gate = network.blocks[1].gate.kernel.value
        assert _std(gate) == pytest.approx(np.sqrt(1 / 256), rel=0.05)  # xavier: 2 / (256 + 256)
    if name == "hn_ptgru":
        gru = model.gru
        assert isinstance(gru, BiGRU) and gru.hidden_features == 32
        for d in range(2):
            w_hh = np.asarray(gru.w_hh.value[d])  # (H, 3H): PyTorch's (3H, H) transposed
            np.testing.assert_allclose(w_hh @ w_hh.T, np.eye(32), atol=1e-5)
            assert _std(gru.w_ih.value[d]) == pytest.approx(np.sqrt(2 / (64 + 96)), rel=0.1)
        assert not np.allclose(gru.w_hh.value[0], gru.w_hh.value[1])


@pytest.mark.parametrize(
    ("kinds", "cards"),
    [(["num", "bin"], [-1, 2]), (["cat", "cat"], [3, 4])],
    ids=["no_cat", "all_cat"],
)
def test_input_layers_on_synths_with_one_kind_only(kinds, cards):
    layout = PresetLayout.from_kinds(kinds, cards)
    presets = random_presets(layout, batch=3)
    tokens = PresetTokenizer(layout, 4, has_cls=True, rngs=nnx.Rngs(0))(jnp.asarray(presets))
    assert tokens.shape == (3, 3, 4) and bool(jnp.all(jnp.isfinite(tokens)))
    onehot = np.asarray(one_hot_encode(jnp.asarray(presets), layout))
    assert onehot.shape == (3, layout.onehot_width)
    if layout.n_cat:
        np.testing.assert_array_equal(onehot.sum(axis=1), layout.n_cat)
    else:
        np.testing.assert_array_equal(onehot, presets)
