"""Tests for PresetLayout and the one-hot input."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxproxy.models import PresetLayout
from jaxproxy.models.embeddings import one_hot_encode
from tests.jaxproxy.models.helpers import random_presets, synth_layout, synthetic_layout, tsv_layout

# Facts 5.6: n_used, n_noncat, n_cat, sum_card, one-hot width.
DIMENSIONS = {
    "dexed": (100, 92, 8, 49, 141),
    "diva": (173, 122, 51, 274, 396),
    "diva@paper_era": (173, 122, 51, 290, 412),
    "talnm": (59, 51, 8, 52, 103),
}


def _spec_json(params):
    return {"name": "toy", "params": params}


def test_from_spec_json_keeps_used_params_in_order():
    layout = PresetLayout.from_spec_json(
        _spec_json(
            [
                {"name": "a", "kind": "num", "cardinality": -1, "used": True},
                {"name": "b", "kind": "cat", "cardinality": 4, "used": True},
                {"name": "c", "kind": "cat", "cardinality": 7, "used": False},
                {"name": "d", "kind": "bin", "cardinality": 2, "used": True},
                {"name": "e", "kind": "cat", "cardinality": 3, "used": True},
            ]
        )
    )
    assert layout.n_used == 4
    np.testing.assert_array_equal(layout.noncat_idx, [0, 2])
    np.testing.assert_array_equal(layout.cat_idx, [1, 3])
    np.testing.assert_array_equal(layout.cat_cards, [4, 3])
    np.testing.assert_array_equal(layout.cat_offsets, [0, 4])
    assert (layout.sum_card, layout.onehot_width) == (7, 9)
    assert layout.name == "toy"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "toy"}, "'params' list"),
        (_spec_json([{"name": "a"}]), "params\\[0\\] needs a 'kind'"),
        (_spec_json([{"kind": "enum", "cardinality": 3}]), "kind 'enum'"),
        (_spec_json([{"kind": "cat", "cardinality": 1}]), "cardinality >= 2"),
        (_spec_json([{"kind": "cat", "name": "wave"}]), "'wave'.*cardinality"),
        (_spec_json([{"kind": "num", "used": False}]), "no used parameters"),
    ],
)
def test_from_spec_json_rejects_bad_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        PresetLayout.from_spec_json(spec)


def test_layout_is_hashable_and_compares_by_value():
    a, b = synthetic_layout(), synthetic_layout()
    assert a == b and hash(a) == hash(b)
    assert a != PresetLayout.from_kinds(["num", "cat"], [-1, 3], name="synthetic")
    with pytest.raises(ValueError):
        a.cat_idx[0] = 5  # read-only


@pytest.mark.parametrize("name", sorted(DIMENSIONS))
def test_paper_synth_dimensions(name):
    layout = synth_layout(name)
    got = (layout.n_used, layout.n_noncat, layout.n_cat, layout.sum_card, layout.onehot_width)
    assert got == DIMENSIONS[name]
    assert layout == PresetLayout.from_kinds(*_kinds_and_cards(tsv_layout(name)), name=layout.name)


def _kinds_and_cards(layout):
    kinds, cards = ["num"] * layout.n_used, [-1] * layout.n_used
    for idx in layout.bin_idx:
        kinds[idx] = "bin"
    for idx, card in zip(layout.cat_idx, layout.cat_cards, strict=True):
        kinds[idx], cards[idx] = "cat", int(card)
    return kinds, cards


@pytest.mark.parametrize("name", ["synthetic", "diva"])
def test_one_hot_matches_a_loop(name):
    layout = synthetic_layout() if name == "synthetic" else synth_layout(name)
    presets = random_presets(layout, batch=5, seed=1)
    got = np.asarray(one_hot_encode(jnp.asarray(presets), layout))
    expected = [presets[:, layout.noncat_idx]]
    for idx, card in zip(layout.cat_idx, layout.cat_cards, strict=True):
        block = np.zeros((5, card), np.float32)
        block[np.arange(5), presets[:, idx].astype(int)] = 1.0
        expected.append(block)
    np.testing.assert_array_equal(got, np.concatenate(expected, axis=1))
    assert got.shape == (5, layout.onehot_width)
