"""Encoder tests: the paper's parameter counts, shapes and finiteness on every synth layout."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxproxy.models import (
    ENCODERS,
    abstract_encoder,
    build_encoder,
    count_params,
    encoder_hyperparameters,
)
from tests.jaxproxy.models.helpers import (
    SMALL,
    SMALL_OUT_DIM,
    jit_forward,
    random_presets,
    small_encoder,
    synth_layout,
    synthetic_layout,
)

NAMES = ("mlp_oh", "hn_oh", "hn_pt", "hn_ptgru", "tfm")

# Facts 5.5: (synth, D) -> counts in NAMES order.
PAPER_COUNTS = {
    ("dexed", 192): (4_884_672, 6_167_232, 6_014_464, 7_073_856, 4_824_768),
    ("diva", 192): (5_406_912, 6_363_072, 8_422_848, 7_171_776, 4_890_048),
    ("diva@paper_era", 192): (5_439_680, 6_375_360, 8_423_872, 7_177_920, 4_894_144),
    ("talnm", 192): (4_806_848, 6_138_048, 4_668_544, 7_059_264, 4_815_040),
    ("dexed", 1072): (6_687_792, 6_843_952, 6_465_904, 7_750_576, 5_050_928),
    ("diva", 1072): (7_210_032, 7_039_792, 8_874_288, 7_848_496, 5_116_208),
}


def test_registry_names():
    assert tuple(ENCODERS) == NAMES


@pytest.mark.parametrize(("synth", "out_dim"), sorted(PAPER_COUNTS))
def test_paper_parameter_counts(synth, out_dim):
    layout = synth_layout(synth)
    got = tuple(count_params(abstract_encoder(name, layout, out_dim)) for name in NAMES)
    assert dict(zip(NAMES, got, strict=True)) == dict(
        zip(NAMES, PAPER_COUNTS[synth, out_dim], strict=True)
    )


def test_batch_stats_are_not_parameters():
    model = abstract_encoder("hn_oh", synthetic_layout(), 16, d_hidden=8, num_layers=3)
    stats = jax.tree.leaves(nnx.state(model, nnx.BatchStat))
    # 3 BatchNorms of 8 features, mean and variance each.
    assert sum(leaf.size for leaf in stats) == 3 * 2 * 8


@pytest.mark.parametrize("synth", ["dexed", "diva", "talnm", "synthetic"])
@pytest.mark.parametrize("name", NAMES)
def test_forward_on_every_layout(name, synth):
    layout = synthetic_layout() if synth == "synthetic" else synth_layout(synth)
    emb = jit_forward(small_encoder(name, synth), random_presets(layout, batch=4))
    assert emb.shape == (4, SMALL_OUT_DIM) and emb.dtype == jnp.float32
    assert bool(jnp.all(jnp.isfinite(emb)))
    # Different presets give different embeddings (the input is actually read).
    assert float(jnp.max(jnp.abs(emb[0] - emb[1]))) > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_paper_size_forward_on_dexed(name):
    model = build_encoder(name, synth_layout("dexed"), 192, rngs=nnx.Rngs(0))
    model.eval()  # running statistics at init: an untrained model must still be finite
    emb = model(jnp.asarray(random_presets(synth_layout("dexed"), batch=4)))
    assert emb.shape == (4, 192)
    assert bool(jnp.all(jnp.isfinite(emb)))


def test_unknown_encoder_and_override_are_named():
    layout = synthetic_layout()
    with pytest.raises(ValueError, match="unknown encoder 'resnet'.*hn_oh"):
        build_encoder("resnet", layout, 8, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="'tfm' has no hyperparameter.*d_hiden.*valid ones"):
        build_encoder("tfm", layout, 8, rngs=nnx.Rngs(0), d_hiden=3)
    with pytest.raises(ValueError, match="num_layers must be a positive even"):
        build_encoder("mlp_oh", layout, 8, rngs=nnx.Rngs(0), num_layers=3)
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        build_encoder("tfm", layout, 8, rngs=nnx.Rngs(0), d_token=30, num_heads=4)


def test_hyperparameters_default_to_the_paper_b_sizes():
    assert encoder_hyperparameters("tfm") | {"dtype": None} == {
        "d_token": 256,
        "num_layers": 6,
        "num_heads": 8,
        "d_ff": 1024,
        "dtype": None,
        "param_dtype": jnp.float32,
    }
    assert encoder_hyperparameters("hn_ptgru")["d_token"] == 384


def test_wrong_preset_width_is_named():
    model = small_encoder("hn_oh")
    with pytest.raises(ValueError, match=r"shape \(batch, 8\).*'synthetic'"):
        model(jnp.zeros((2, 9)))


def test_bfloat16_compute_keeps_float32_params_and_output():
    layout = synthetic_layout()
    for name in ("hn_ptgru", "tfm"):  # between them every layer type
        model = build_encoder(name, layout, 8, rngs=nnx.Rngs(0), dtype=jnp.bfloat16, **SMALL[name])
        emb = jit_forward(model, random_presets(layout, batch=4))
        assert emb.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(emb))), name
        dtypes = {leaf.dtype for leaf in jax.tree.leaves(nnx.state(model, nnx.Param))}
        assert dtypes == {np.dtype("float32")}, name
