"""Export round trip: the loaded function equals the live model, under jit, grad and vmap."""

import json
import os
import re
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxproxy
from jaxproxy import export, models, run_files, train_state
from jaxproxy.checkpointing import Checkpointer
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.models import functional
from jaxproxy.models.layout import PresetLayout
from tests.jaxproxy.fake_data import fake_arrays, fake_synth_json

EMB = 8


def _trained_like_model(encoder: str):
    config = proxy_config.get_config(f"encoder={encoder},smoke")
    model = models.build_proxy(config, PresetLayout.from_spec_json(fake_synth_json()), EMB)
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
            export.SOFT_FUNCTION_FILE,
            export.LOADER_FILE,
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
        (run_files.CONFIG_FILE, config.to_dict()),
        (run_files.SPEC_FILE, fake_synth_json()),
        (run_files.DATA_FILE, {"embedding_dim": EMB}),
    ):
        with open(workdir / name, "w") as f:
            json.dump(payload, f)
    _, params, batch_stats = functional.split_model(model)
    tx = train_state.proxy_optimizer(config, optax.constant_schedule(1e-3))
    state = train_state.init_state(params, batch_stats, tx)
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
    # --out: a folder that is not an earlier export is refused untouched (exporting replaces
    # --out whole: it was deleted), a file or a path under a file too.
    for out, message in (
        (workdir, r"holds files and no proxy.json, so it is not an earlier export"),
        (workdir / "config.json", r"is a file, not a folder"),
        (workdir / "config.json" / "x", r"is a file, so no folder can be made under"),
    ):
        before = sorted(p.name for p in workdir.iterdir())
        with pytest.raises(OSError, match=rf"^--out {re.escape(str(out))}: .*{message}"):
            export.export_from_workdir(str(workdir), str(out), checkpoint="latest")
        assert sorted(p.name for p in workdir.iterdir()) == before
    export.export_from_workdir(str(workdir), folder, checkpoint="latest")  # an export: replaced
    for bad, message in ((tmp_path / "nope", "no such training workdir"),
                         (tmp_path / "x" / "weights.npz", "is a file, not a training workdir"),
                         (tmp_path / "x", "data.json is missing")):  # fmt: skip
        with pytest.raises(OSError, match=rf"^--workdir {re.escape(str(bad))}: .*{message}"):
            export.export_from_workdir(str(bad), str(tmp_path / "y"))
    assert not (tmp_path / "y").exists()


# Runs in a fresh interpreter that imports only jax and numpy (and the export's load_proxy.py).
_FRESH = textwrap.dedent(
    """
    import importlib.util, json, sys
    import jax, jax.numpy as jnp, numpy as np
    folder = sys.argv[1]
    spec = importlib.util.spec_from_file_location("load_proxy", folder + "/load_proxy.py")
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    proxy = module.Proxy(folder)
    rng = np.random.default_rng(0)
    V, B, cat = 3, 4, int(proxy.cat_idx[0])
    x = rng.random((V, B, proxy.num_params)).astype(np.float32)
    for i, card in zip(proxy.cat_idx, proxy.cat_cards):
        x[..., i] = rng.integers(0, card, (V, B))
    ref = np.stack([np.asarray(proxy(x[v])) for v in range(V)])
    soft = np.stack([proxy.one_hot(x[v]) for v in range(V)])
    target = jnp.ones((B, proxy.embedding_dim))
    loss = lambda s: jnp.mean(jnp.abs(proxy.soft(s) - target))
    g_ref = np.stack([np.asarray(jax.grad(loss)(soft[v])) for v in range(V)])
    w_loss = lambda w, s: jnp.mean(jnp.abs(proxy.apply_soft(w, s) - target))
    gw_ref = [jax.grad(w_loss)(proxy.weights, soft[v]) for v in range(V)]
    gw = jax.vmap(jax.grad(w_loss), in_axes=(None, 0))(proxy.weights, soft)
    stacked = jax.tree.map(lambda w: jnp.stack([w, w]), proxy.weights)
    err = lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
    out = {
        "vmap": err(jax.vmap(proxy)(x), ref),
        "jit_vmap": err(jax.jit(jax.vmap(proxy))(x), ref),
        "vmap_jit": err(jax.vmap(jax.jit(proxy))(x), ref),
        "vmap_grad": err(jax.vmap(jax.grad(loss))(soft), g_ref),
        "jit_vmap_grad": err(jax.jit(jax.vmap(jax.grad(loss)))(soft), g_ref),
        "grad_vmap": err(jax.grad(lambda s: jax.vmap(loss)(s).sum())(soft), g_ref),
        "vmap_grad_weights": max(err(gw[k][v], gw_ref[v][k]) for k in gw for v in range(V)),
        "vmap_over_weights": err(
            jax.vmap(proxy.apply, in_axes=(0, None))(stacked, x[0])[1], ref[0]
        ),
        "soft_eq_hard": err(proxy.soft(soft[0]), ref[0]),
        "grad_nonzero": float(np.min(np.abs(g_ref).sum(axis=(0, 1)))),
        "nan_rule": bool(np.all(np.isnan(jax.jit(proxy)(jnp.asarray(x[0]).at[:, cat].set(99.0))))),
        "modules": sorted({m.split(".")[0] for m in sys.modules} & {"jaxproxy", "flax", "optax",
                          "orbax", "torch", "ml_collections"}),
    }
    print(json.dumps(out))
    """
)


def test_reloaded_export_in_fresh_process_jit_grad_vmap(tmp_path):
    config, model = _trained_like_model("tfm")
    folder = export.export_model(
        str(tmp_path / "export"),
        model,
        config=config.to_dict(),
        spec_json=fake_synth_json(),
        embedding_dim=EMB,
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "XLA_FLAGS")}
    done = subprocess.run(
        [sys.executable, "-c", _FRESH, folder],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=dict(env, JAX_PLATFORMS="cpu"),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out.pop("modules") == []  # neither jaxproxy nor flax/optax/torch was imported
    assert out.pop("nan_rule") is True  # a category of 99 under jit: a NaN embedding row
    assert out.pop("soft_eq_hard") == 0.0  # one call each: bit-identical
    assert out.pop("grad_nonzero") > 0  # every soft column (num, bin, each category) gets some
    for name, error in out.items():  # vmapped/folded batches vs per-slice calls
        assert error < 1e-5, (name, error)


@pytest.fixture(scope="module")
def hn_oh_export(tmp_path_factory):
    config, model = _trained_like_model("hn_oh")
    return export.export_model(
        str(tmp_path_factory.mktemp("hn_oh") / "export"),
        model,
        config=config.to_dict(),
        spec_json=fake_synth_json(),
        embedding_dim=EMB,
    )


@pytest.mark.parametrize(
    "column,value,message",
    [
        (
            3,
            2.0000002,
            r"presets\[1, 3\] \('wave', cat\) is 2\.0000002, expected a category index in 0\.\.2",
        ),
        (
            4,
            -1.0,
            r"presets\[1, 4\] \('lfo_shape', cat\) is -1\.0, expected a category index in 0\.\.3",
        ),
        (4, 99.0, r"is 99\.0, expected a category index in 0\.\.3"),
        (0, 1.5, r"presets\[1, 0\] \('cutoff', num\) is 1\.5, expected a value in \[0, 1\]"),
        (2, float("nan"), r"\('sync', bin\) is nan, expected a value in \[0, 1\]"),
    ],
)
def test_invalid_hard_input_is_rejected_outside_jit_and_nan_inside(
    hn_oh_export, column, value, message
):
    loaded = jaxproxy.load_proxy(hn_oh_export)
    presets = np.asarray(fake_arrays(3, EMB, seed=5)["params"])
    presets[1, column] = value
    with pytest.raises(ValueError, match=message):
        loaded(presets)
    emb = np.asarray(jax.jit(loaded)(presets))
    assert np.all(np.isnan(emb[1])) and np.all(np.isfinite(emb[[0, 2]]))


def test_float16_weights_load_and_compute_in_float32(tmp_path):
    """The zoo stores weights at float16: the loader upcasts them (the export takes float32)."""
    config, model = _trained_like_model("hn_oh")
    folder = export.export_model(str(tmp_path / "export"), model, config=config.to_dict(),
                                 spec_json=fake_synth_json(), embedding_dim=EMB)  # fmt: skip
    path = os.path.join(folder, export.WEIGHTS_FILE)
    with np.load(path) as npz:
        half = {name: npz[name].astype(np.float16) for name in npz.files}
    np.savez(path, **half)
    presets = jnp.asarray(fake_arrays(5, EMB, seed=3)["params"])
    emb = jaxproxy.load_proxy(folder)(presets)
    assert emb.dtype == jnp.float32
    np.testing.assert_allclose(emb, _live_encode(model)(presets), rtol=2e-2, atol=2e-2)
