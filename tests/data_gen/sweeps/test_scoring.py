"""Spearman ranking score: perfect, reversed and undefined orders; the reference's formula."""

import numpy as np
import pytest
from scipy.stats import pearsonr

from data_gen.sweeps.scoring import (
    DISTANCES,
    attribute_correlations,
    summarize,
    sweep_correlations,
    truncate,
)


def _line(num: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    """Embeddings on a straight line in sweep order: every distance grows with rank gap."""
    direction = np.random.default_rng(seed).standard_normal(dim)
    return np.arange(num)[:, None] * direction[None] + 3.0


@pytest.mark.parametrize("distance", list(DISTANCES))
def test_monotonic_sweep_scores_one(distance) -> None:
    emb = _line(20)
    if distance == "cosine":  # cosine needs the angle to change: a curve away from the origin
        k = np.arange(20) / 19 * np.pi / 2
        emb = np.stack([np.cos(k), np.sin(k)], axis=1)
    assert sweep_correlations(emb, distance) == pytest.approx((1.0, 1.0))


def test_order_backwards_from_one_end_scores_minus_one() -> None:
    emb = _line(10)
    # Sound 0 moved beyond the last one: from 0, nearest is 9 and farthest 1.
    emb[0] = emb[-1] + (emb[-1] - emb[-2])
    up, down = sweep_correlations(emb, "l1")
    assert up == pytest.approx(-1.0)
    assert down < 1.0


def test_equals_the_reference_pearson_of_argsort_ranks() -> None:
    rng = np.random.default_rng(1)
    emb = _line(20) + rng.normal(scale=4.0, size=(20, 8))
    dist = np.abs(emb[:, None] - emb[None]).sum(-1)
    ranks = np.arange(1, 20)
    order_up = np.argsort(dist[0])[1:]  # the reference: argsort, drop self, Pearson with 1..19
    order_down = np.argsort(dist[-1])[1:]
    ref_up = pearsonr(order_up, ranks).statistic
    ref_down = pearsonr(order_down, ranks[::-1] - 1).statistic
    assert sweep_correlations(emb, "l1") == pytest.approx((ref_up, ref_down))


def test_constant_embeddings_are_undefined_and_count_as_zero() -> None:
    rho = attribute_correlations(np.ones((3, 5, 4)), "l2")
    assert np.isnan(rho).all()
    out = summarize({"a": rho, "b": np.ones((3, 2))})
    assert out["attributes"]["a"] == {"mean": 0.0, "std": 0.0, "undefined": 6}
    assert out["mean"] == pytest.approx(0.5)


def test_summary_is_mean_over_all_rankings_then_attributes() -> None:
    out = summarize({"a": np.array([[1.0, 0.5], [0.0, 0.5]]), "b": np.array([[1.0, 1.0]])})
    assert out["attributes"]["a"]["mean"] == pytest.approx(0.5)
    assert out["attributes"]["a"]["std"] == pytest.approx(np.std([1.0, 0.5, 0.0, 0.5]))
    assert out["mean"] == pytest.approx(0.75)


def test_truncate_keeps_the_start_and_fades_out() -> None:
    audio = np.ones((2, 1000), np.float32)
    out = truncate(audio, 100, 1.0, fade_s=0.1)
    assert out.shape == (2, 100)
    np.testing.assert_array_equal(out[:, :90], 1.0)
    assert out[0, -1] == 0.0 and out[0, 90] == 1.0 and np.all(np.diff(out[0, 90:]) < 0)
    assert audio.min() == 1.0  # the input is left alone
    with pytest.raises(ValueError, match="samples"):
        truncate(audio, 100, 20.0)
