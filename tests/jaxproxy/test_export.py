"""Export round trip: the loaded function equals the live model, under jit and grad."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxproxy
from jaxproxy import export
from jaxproxy.checkpointing import Checkpointer
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.models.layout import PresetLayout
from jaxproxy.trainers import proxy, proxy_step
from tests.jaxproxy.fake_data import fake_arrays, fake_synth_json

EMB = 8


def _trained_like_model(encoder: str):
    config = proxy_config.get_config(f"encoder={encoder},smoke")
    model = proxy.build_model(config, PresetLayout.from_spec_json(fake_synth_json()), EMB)
    # Non-trivial BatchNorm statistics, so eval mode differs from the initial state.
    for path, var in nnx.iter_graph(model):
        if isinstance(var, nnx.BatchStat):
            var.value = var.value + 0.3 * (len(path) % 3)
    return config, model


def _live_encode(model):
    model.eval()
    return lambda presets: model(presets)


@pytest.mark.parametrize("encoder", ["hn_oh", "tfm"])
def test_round_trip_jit_and_grad(tmp_path, encoder):
    config, model = _trained_like_model(encoder)
    folder = export.export_model(
        str(tmp_path / "export"),
        model,
        config=config.to_dict(),
        spec_json=fake_synth_json(),
        embedding_dim=EMB,
    )
    assert sorted(os.listdir(folder)) == sorted(
        [
            export.WEIGHTS_FILE,
            export.FUNCTION_FILE,
            export.INFO_FILE,
            export.CONFIG_FILE,
            export.SPEC_FILE,
        ]
    )
    loaded = jaxproxy.load_proxy(folder)
    live = _live_encode(model)
    presets = jnp.asarray(fake_arrays(5, EMB, seed=3)["params"])
    np.testing.assert_allclose(loaded(presets), live(presets), rtol=1e-5, atol=1e-6)
    # Symbolic batch: another batch size needs no re-export.
    presets_3 = jnp.asarray(fake_arrays(3, EMB, seed=4)["params"])
    np.testing.assert_allclose(loaded(presets_3), live(presets_3), rtol=1e-5, atol=1e-6)

    # Inside a user's jitted loss, differentiated with respect to the numerical parameters.
    target = jnp.ones((5, EMB))

    def loss(proxy_fn, numeric_Bx2):
        return jnp.mean(jnp.abs(proxy_fn(presets.at[:, :2].set(numeric_Bx2)) - target))

    numeric = presets[:, :2]
    grad_loaded = jax.jit(jax.grad(lambda x: loss(loaded, x)))(numeric)
    grad_live = jax.grad(lambda x: loss(live, x))(numeric)
    assert np.all(np.isfinite(grad_loaded)) and np.any(grad_loaded != 0)
    np.testing.assert_allclose(grad_loaded, grad_live, rtol=1e-4, atol=1e-6)


def test_export_from_workdir_and_bad_input(tmp_path):
    config, model = _trained_like_model("hn_oh")
    workdir = tmp_path / "run"
    os.makedirs(workdir)
    for name, payload in (
        (proxy.CONFIG_FILE, config.to_dict()),
        (proxy.SPEC_FILE, fake_synth_json()),
        (proxy.DATA_FILE, {"embedding_dim": EMB}),
    ):
        with open(workdir / name, "w") as f:
            json.dump(payload, f)
    _, params, batch_stats = proxy_step.split_model(model)
    tx = proxy_step.make_optimizer(config, optax.constant_schedule(1e-3))
    state = proxy_step.init_state(params, batch_stats, tx)
    ckpt = Checkpointer(str(workdir / "checkpoints"))
    ckpt.save(3, state, {"epoch": 0})
    ckpt.close()
    with pytest.raises(FileNotFoundError, match="best_mrr holds no checkpoint"):
        export.export_from_workdir(str(workdir), str(tmp_path / "x"))
    folder = export.export_from_workdir(str(workdir), str(tmp_path / "x"), checkpoint="latest")
    loaded = jaxproxy.load_proxy(folder)
    presets = jnp.asarray(fake_arrays(4, EMB)["params"])
    np.testing.assert_allclose(loaded(presets), _live_encode(model)(presets), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"presets must be float32\[B, 5\]"):
        loaded(jnp.zeros((2, 7)))
