"""Encoders under jax.jit the way trainers use them: split once, merge inside, grads, sharding."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from tests.jaxproxy.models.helpers import SMALL, random_presets, small_encoder, synthetic_layout


def _l1_step(graphdef):
    """Pure L1 loss + grads; returns the updated BatchNorm statistics like a train step would."""

    def loss_fn(params, stats, presets, targets):
        # copy=True: the merged BatchStats are mutated under grad's trace, not jit's.
        model = nnx.merge(graphdef, params, stats, copy=True)
        loss = jnp.mean(jnp.abs(model(presets) - targets))
        return loss, nnx.state(model, nnx.BatchStat)

    return jax.jit(jax.value_and_grad(loss_fn, has_aux=True))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_jitted_l1_gradients_are_finite_and_nonzero(name):
    graphdef, params, stats = nnx.split(small_encoder(name), nnx.Param, nnx.BatchStat)
    presets = jnp.asarray(random_presets(synthetic_layout(), batch=8))
    targets = jax.random.normal(jax.random.key(1), (8, 24))
    (loss, new_stats), grads = _l1_step(graphdef)(params, stats, presets, targets)
    assert bool(jnp.isfinite(loss))
    for path, grad in jax.tree_util.tree_leaves_with_path(grads):
        assert bool(jnp.all(jnp.isfinite(grad))), path
        # Every parameter influences the loss (no dead branch in the wiring).
        assert float(jnp.max(jnp.abs(grad))) > 0, path
    moved = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), stats, new_stats)
    for path, did_move in jax.tree_util.tree_leaves_with_path(moved):
        # Every BatchNorm saw the batch (tfm has none); the position table (a Buffer) never moves.
        is_buffer = "positions" in jax.tree_util.keystr(path)
        assert did_move != is_buffer, path


def test_eval_graph_is_deterministic_and_differs_from_train():
    layout = synthetic_layout()
    model = small_encoder("hn_ptgru")
    model.eval()
    graphdef, state = nnx.split(model)
    encode = jax.jit(lambda state, x: nnx.merge(graphdef, state)(x))
    presets = jnp.asarray(random_presets(layout, batch=8))
    np.testing.assert_array_equal(encode(state, presets), encode(state, presets))
    model.train()
    assert float(jnp.max(jnp.abs(model(presets) - encode(state, presets)))) > 1e-4


def test_sharded_batch_gives_the_unsharded_result():
    # BatchNorm statistics must be over the global batch when the batch is split over devices.
    graphdef, params, stats = nnx.split(small_encoder("hn_oh"), nnx.Param, nnx.BatchStat)
    presets = jnp.asarray(random_presets(synthetic_layout(), batch=16))
    targets = jax.random.normal(jax.random.key(1), (16, 24))
    step = _l1_step(graphdef)
    (loss, new_stats), grads = step(params, stats, presets, targets)
    mesh = jax.make_mesh((jax.device_count(),), ("data",), (AxisType.Auto,))
    sharded = NamedSharding(mesh, P("data"))
    (loss_s, stats_s), grads_s = step(
        params, stats, jax.device_put(presets, sharded), jax.device_put(targets, sharded)
    )
    np.testing.assert_allclose(loss_s, loss, rtol=1e-5)
    close = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    jax.tree.map(close, stats_s, new_stats)
    jax.tree.map(close, grads_s, grads)
