"""Tests for retrieval metrics against a brute-force numpy reference."""

import numpy as np
import pytest

from jaxproxy import metrics


def _np_ranks(queries, keys, metric):
    if metric == "l1":
        dist = np.abs(queries[:, None] - keys[None]).sum(-1)
    elif metric == "l2":
        dist = np.sqrt(np.square(queries[:, None] - keys[None]).sum(-1))
    else:
        qn = queries / np.linalg.norm(queries, axis=-1, keepdims=True)
        kn = keys / np.linalg.norm(keys, axis=-1, keepdims=True)
        dist = 1 - qn @ kn.T
    order = np.argsort(dist, axis=1, kind="stable")
    return np.array([np.where(order[i] == i)[0][0] for i in range(len(queries))])


@pytest.mark.parametrize("dim", [8, 40])  # fewer and more than one accumulation step, padded
@pytest.mark.parametrize("metric", ["l1", "l2", "cosine"])
def test_match_ranks_matches_argsort(metric, dim):
    rng = np.random.default_rng(0)
    audio = rng.normal(size=(100, dim)).astype(np.float32)
    presets = audio + rng.normal(scale=np.sqrt(dim / 8), size=audio.shape).astype(np.float32)
    ranks = np.asarray(metrics.match_ranks(presets, audio, metric=metric, chunk=32))
    np.testing.assert_array_equal(ranks, _np_ranks(presets, audio, metric))
    assert 0 < ranks.mean() < 99  # neither trivial nor random-worst


@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_chunk_distances_match_brute_force(metric):
    rng = np.random.default_rng(3)
    queries, keys = rng.normal(size=(2, 7, 35)).astype(np.float32)  # 35 dims: 3 steps, padded
    diff = queries[:, None] - keys[None]
    expected = np.abs(diff).sum(-1) if metric == "l1" else np.sqrt(np.square(diff).sum(-1))
    got = metrics._chunk_distances(queries, metrics._prepare_keys(keys, metric), metric)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_validation_mrr_layout_and_formula():
    rng = np.random.default_rng(1)
    num_ranks, num_cands, dim = 4, 6, 5
    audio = rng.normal(size=(num_ranks * num_cands + 3, dim)).astype(np.float32)
    presets = audio + rng.normal(scale=0.8, size=audio.shape).astype(np.float32)
    expected = []
    for i in range(num_ranks):
        cands = presets[[j * num_ranks + i for j in range(num_cands)]]
        dist = np.abs(cands - audio[i]).sum(-1)
        expected.append(1 / (1 + np.sum(dist[1:] <= dist[0])))
    got = float(metrics.validation_mrr(presets, audio, num_ranks=num_ranks))
    np.testing.assert_allclose(got, np.mean(expected), rtol=1e-6)


def test_ties_and_non_finite_are_pessimistic():
    collapsed = np.ones((512, 3), np.float32)
    assert float(metrics.validation_mrr(collapsed, collapsed, num_ranks=256)) == pytest.approx(0.5)
    ranks = metrics.match_ranks(collapsed[:10], collapsed[:10])
    np.testing.assert_array_equal(ranks, 9)
    nan_presets = np.full((10, 3), np.nan, np.float32)
    np.testing.assert_array_equal(metrics.match_ranks(nan_presets, collapsed[:10]), 9)


def test_perfect_proxy_scores_one():
    audio = np.random.default_rng(2).normal(size=(512, 4)).astype(np.float32)
    assert float(metrics.validation_mrr(audio, audio)) == pytest.approx(1.0)
    out = metrics.retrieval_metrics(audio[:50], audio[:50])
    assert out["mrr"] == pytest.approx(1.0) and out["l1"] == 0.0
    assert out["avg_recall@1"] == pytest.approx(1.0)
    assert out["avg_mnr"] == pytest.approx(1 / 50)


def test_rank_summaries():
    ranks = np.array([0, 1, 2, 9])
    assert float(metrics.mrr(ranks)) == pytest.approx(np.mean([1, 1 / 2, 1 / 3, 1 / 10]))
    assert float(metrics.top_k_mrr(ranks, 2)) == pytest.approx((1 + 1 / 2) / 4)
    assert float(metrics.recall_at_k(ranks, 3)) == pytest.approx(0.75)
    mnr, mdnr = metrics.normalized_ranks(ranks)
    assert float(mnr) == pytest.approx(np.mean([1, 2, 3, 10]) / 4)
    assert float(mdnr) == pytest.approx(2.5 / 4)


def test_reference_compat_ties_follow_a_stable_argsort_and_the_median_is_the_lower_middle():
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 3, size=(40, 2)).astype(np.float32)  # many exact ties
    queries = keys + rng.integers(0, 2, size=keys.shape).astype(np.float32)
    compat = np.asarray(metrics.match_ranks(queries, keys, chunk=16, reference_compat=True))
    np.testing.assert_array_equal(compat, _np_ranks(queries, keys, "l1"))
    default = np.asarray(metrics.match_ranks(queries, keys, chunk=16))
    assert np.all(default >= compat) and np.any(default > compat)  # ties count against
    collapsed = np.ones((512, 3), np.float32)
    assert float(metrics.validation_mrr(collapsed, collapsed, 256, reference_compat=True)) == 1.0
    ranks = np.array([0, 1, 2, 5], np.int32)  # normalised (rank + 1) / 4: .25 .5 .75 1.5
    assert float(metrics.normalized_ranks(ranks)[1]) == pytest.approx(0.625)
    assert float(metrics.normalized_ranks(ranks, reference_compat=True)[1]) == 0.5
