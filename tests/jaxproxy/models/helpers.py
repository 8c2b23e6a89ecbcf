"""Layouts of the paper's synths and random presets for the encoder tests."""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxproxy.models import PresetLayout, build_encoder

# The paper's parameter tables, as shipped with the package (copied from the reference digest).
REFERENCE = Path(__file__).resolve().parents[3] / "data_gen" / "synths" / "paper"
PAPER_SYNTHS = ("dexed", "diva", "talnm")

# Small sizes for forward passes on every layout (the layout decides the input shapes).
SMALL = {
    "mlp_oh": dict(d_hidden=32),
    "hn_oh": dict(d_hidden=32, num_layers=3),
    "hn_pt": dict(d_token=8, d_hidden=32, num_layers=3),
    "hn_ptgru": dict(d_token=16, d_hidden=32, num_layers=3),
    "tfm": dict(d_token=32, num_layers=2, num_heads=4, d_ff=64),
}
SMALL_OUT_DIM = 24


@functools.cache
def synth_layout(name: str) -> PresetLayout:
    """The layout of a registered synth spec."""
    from data_gen.synths.registry import get_spec

    return PresetLayout.from_spec_json(get_spec(name).to_json())


def tsv_layout(name: str) -> PresetLayout:
    """Layout from `params-<synth>.tsv`: rows with a used_idx, their type and cardinality.

    "diva@paper_era" gives `osc:noisevolmodsrc` its 24 categories (facts 1.3, item 2).
    """
    synth, _, variant = name.partition("@")
    kinds, cards = [], []
    with open(REFERENCE / f"params-{synth}.tsv") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["used_idx"] == "-":
                continue
            kinds.append(row["type"] if row["type"] in ("bin", "cat") else "num")
            paper_era = variant == "paper_era" and row["name"] == "osc:noisevolmodsrc"
            cards.append(24 if paper_era else int(row["cardinality"]))
    return PresetLayout.from_kinds(kinds, cards, name=name)


def synthetic_layout() -> PresetLayout:
    """A small mixed layout whose categoricals are interleaved with numerical parameters."""
    kinds = ["cat", "num", "bin", "cat", "num", "num", "cat", "bin"]
    cards = [3, -1, 2, 5, -1, -1, 2, 2]
    return PresetLayout.from_kinds(kinds, cards, name="synthetic")


def small_encoder(name: str, synth: str = "synthetic") -> nnx.Module:
    """A fresh small encoder (SMALL sizes, out_dim 24, seed 0); built once per process, copied."""
    graphdef, state = _small_encoder_split(name, synth)
    return nnx.merge(graphdef, jax.tree.map(jnp.copy, state))


@functools.cache
def _small_encoder_split(name: str, synth: str):
    # Eager construction compiles every initialiser per shape: share one build between tests.
    layout = synthetic_layout() if synth == "synthetic" else synth_layout(synth)
    model = build_encoder(name, layout, SMALL_OUT_DIM, rngs=nnx.Rngs(0), **SMALL[name])
    return nnx.split(model)


def jit_forward(model: nnx.Module, presets) -> jax.Array:
    """The model's forward pass under jax.jit (split/merge), as trainers run it."""
    graphdef, state = nnx.split(model)
    return jax.jit(lambda state, x: nnx.merge(graphdef, state)(x))(state, jnp.asarray(presets))


def random_presets(layout: PresetLayout, batch: int, seed: int = 0) -> np.ndarray:
    """Valid presets: raw values in [0, 1], category indices below each cardinality."""
    rng = np.random.default_rng(seed)
    presets = rng.random((batch, layout.n_used)).astype(np.float32)
    bins = rng.integers(0, 2**31, (batch, layout.n_cat)) % layout.cat_cards
    presets[:, layout.cat_idx] = bins.astype(np.float32)
    return presets
