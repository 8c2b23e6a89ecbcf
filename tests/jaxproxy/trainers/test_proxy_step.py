"""The pure train step: k steps per call equal k single calls; bf16 compute keeps fp32 params."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxproxy import models, sharding, train_state
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.models import functional
from jaxproxy.models.layout import PresetLayout
from jaxproxy.trainers import proxy_step
from tests.jaxproxy.fake_data import fake_arrays, fake_synth_json

EMB = 8


def _setup(encoder="hn_oh", **config_overrides):
    config = proxy_config.get_config(f"encoder={encoder},smoke")
    for key, value in config_overrides.items():
        setattr(config, key, value)
    model = models.build_proxy(config, PresetLayout.from_spec_json(fake_synth_json()), EMB)
    model_def, params, batch_stats = functional.split_model(model)
    tx = train_state.proxy_optimizer(config, optax.constant_schedule(config.lr))
    mesh = sharding.make_mesh()
    state = jax.device_put(
        train_state.init_state(params, batch_stats, tx), sharding.replicated(mesh)
    )
    return model_def, tx, mesh, state


def _batches(mesh, count):
    out = []
    for seed in range(count):
        arrays = fake_arrays(16, EMB, seed=seed)
        out.append(
            sharding.host_local_to_global(
                {"params": arrays["params"], "embedding": arrays["embedding"]}, mesh
            )
        )
    return out


def test_scan_of_k_steps_equals_k_calls():
    model_def, tx, mesh, state = _setup()
    train_fn = proxy_step.make_train_step(model_def, tx)
    batches = _batches(mesh, 3)
    one = proxy_step.jit_train_step(train_fn, mesh, state, 1)
    three = proxy_step.jit_train_step(train_fn, mesh, state, 3)
    state_a, losses = jax.tree.map(jnp.copy, state), []
    for batch in batches:
        state_a, metrics = one(state_a, (batch,))
        losses.append(float(metrics["loss"]))
    state_b, metrics_b = three(state, tuple(batches))
    assert int(state_a.step) == int(state_b.step) == 3
    np.testing.assert_allclose(float(metrics_b["loss"]), np.mean(losses), rtol=1e-5)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
        (state_a.params, state_a.batch_stats),
        (state_b.params, state_b.batch_stats),
    )
    assert losses[-1] != losses[0]  # the step does change the model


@pytest.mark.parametrize("encoder", ["hn_oh"])
def test_bfloat16_compute_keeps_float32_parameters(encoder):
    model_def, tx, mesh, state = _setup(encoder, compute_dtype="bfloat16")
    step = proxy_step.jit_train_step(proxy_step.make_train_step(model_def, tx), mesh, state, 1)
    new_state, metrics = step(state, tuple(_batches(mesh, 1)))
    assert np.isfinite(float(metrics["loss"])) and int(new_state.first_bad_step) == -1
    assert {x.dtype for x in jax.tree.leaves(new_state.params)} == {jnp.dtype(jnp.float32)}
