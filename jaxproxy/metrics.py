"""Retrieval metrics: the paper's validation MRR and its test protocol (MRR, top-k MRR, recall@k).

Ranks are 0-based and ties are counted pessimistically: the rank of the true match is the number
of *other* candidates at a distance <= its own. A collapsed model whose embeddings are all equal
therefore gets the worst rank, not the best (the reference's unstable argsort breaks ties at
random; `#{d_j < d_0}` alone would reward collapse). A non-finite distance to the true match
gets the worst rank too.

`reference_compat=True` (the `--reference_compat` switch) restores the reference's two rules
instead, in this module only: ties are ordered by candidate index, as a stable argsort orders
them (the reference's unstable CPU argsort orders exact ties arbitrarily; distances between real
embeddings do not tie, so the figures match), and the median normalised rank is the lower
middle value (torch.median), not the mean of the two middle values.
"""

import functools

import jax
import jax.numpy as jnp

Metric = str  # "l1", "l2" or "cosine"


def _distances(queries_QxE: jax.Array, keys_KxE: jax.Array, metric: Metric) -> jax.Array:
    """Returns float32[Q, K] distances."""
    if metric == "l1":
        return jnp.abs(queries_QxE[:, None, :] - keys_KxE[None, :, :]).sum(-1)
    if metric == "l2":
        return jnp.sqrt(jnp.square(queries_QxE[:, None, :] - keys_KxE[None, :, :]).sum(-1))
    if metric == "cosine":
        q_QxE = queries_QxE / jnp.linalg.norm(queries_QxE, axis=-1, keepdims=True)
        k_KxE = keys_KxE / jnp.linalg.norm(keys_KxE, axis=-1, keepdims=True)
        return 1.0 - q_QxE @ k_KxE.T
    raise ValueError(f"metric must be 'l1', 'l2' or 'cosine', got {metric!r}")


def _rank_of_match(
    dist_QxK: jax.Array, match_Q: jax.Array, reference_compat: bool = False
) -> jax.Array:
    """0-based rank of column match_Q[q] in row q: pessimistic, or stable-argsort ties."""
    d_match_Q = jnp.take_along_axis(dist_QxK, match_Q[:, None], axis=1)[:, 0]
    if reference_compat:  # the match's position in a stable argsort of the row
        before_K = jnp.arange(dist_QxK.shape[1])[None, :] < match_Q[:, None]
        ties_before_Q = ((dist_QxK == d_match_Q[:, None]) & before_K).sum(-1)
        rank_Q = (dist_QxK < d_match_Q[:, None]).sum(-1) + ties_before_Q
    else:
        rank_Q = (dist_QxK <= d_match_Q[:, None]).sum(-1) - 1  # minus the match itself
    worst = dist_QxK.shape[1] - 1
    return jnp.where(jnp.isfinite(d_match_Q), rank_Q, worst).astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=("num_ranks", "metric", "reference_compat"))
def validation_mrr(
    preset_emb_NxE: jax.Array,
    audio_emb_NxE: jax.Array,
    num_ranks: int = 256,
    metric: Metric = "l1",
    reference_compat: bool = False,
) -> jax.Array:
    """The paper's validation MRR (facts 7.1, "non-overlapping"): audio -> preset retrieval.

    Query i (i < num_ranks) is the audio embedding of example i; its candidates are the preset
    embeddings of examples i, num_ranks + i, 2 num_ranks + i, ..., so every example is used in
    exactly one ranking and the true match is candidate 0. With the paper's 131,072 validation
    examples and num_ranks 256 that is 256 rankings of 512 candidates. Trailing examples that do
    not fill a whole group of num_ranks are dropped (the reference's `drop_last`).
    """
    num_candidates = preset_emb_NxE.shape[0] // num_ranks
    if num_candidates < 2:
        raise ValueError(
            f"validation_mrr needs at least 2 * num_ranks = {2 * num_ranks} examples,"
            f" got {preset_emb_NxE.shape[0]}"
        )
    used = num_candidates * num_ranks
    cands_RxCxE = preset_emb_NxE[:used].reshape(num_candidates, num_ranks, -1).transpose(1, 0, 2)
    queries_RxE = audio_emb_NxE[:num_ranks]
    dist_RxC = jax.vmap(lambda q_E, c_CxE: _distances(q_E[None], c_CxE, metric)[0])(
        queries_RxE, cands_RxCxE
    )
    ranks_R = _rank_of_match(dist_RxC, jnp.zeros((num_ranks,), jnp.int32), reference_compat)
    return mrr(ranks_R)


@functools.partial(jax.jit, static_argnames=("metric", "chunk", "reference_compat"))
def match_ranks(
    queries_NxE: jax.Array,
    keys_NxE: jax.Array,
    metric: Metric = "l1",
    chunk: int = 64,
    reference_compat: bool = False,
) -> jax.Array:
    """int32[N]: the 0-based rank of keys[i] among all N keys for query i (one-vs-all).

    Queries are processed `chunk` rows at a time so memory stays O(chunk * N * E) at most.
    """
    n = queries_NxE.shape[0]
    pad = -n % chunk
    queries_padded = jnp.pad(queries_NxE, ((0, pad), (0, 0)))
    starts = jnp.arange(0, n + pad, chunk)

    def ranks_of_chunk(start):
        q_CxE = jax.lax.dynamic_slice_in_dim(queries_padded, start, chunk)
        match_C = jnp.minimum(start + jnp.arange(chunk), n - 1)
        return _rank_of_match(_distances(q_CxE, keys_NxE, metric), match_C, reference_compat)

    return jax.lax.map(ranks_of_chunk, starts).reshape(-1)[:n]


def mrr(ranks_N: jax.Array) -> jax.Array:
    """Mean reciprocal rank of 0-based ranks."""
    return jnp.mean(1.0 / (ranks_N + 1.0))


def top_k_mrr(ranks_N: jax.Array, k: int) -> jax.Array:
    """The reference's top-k MRR: (1/N) sum_{r=1..k} count(rank = r) / r (1-based ranks)."""
    return jnp.mean(jnp.where(ranks_N < k, 1.0 / (ranks_N + 1.0), 0.0))


def recall_at_k(ranks_N: jax.Array, k: int) -> jax.Array:
    """Fraction of queries whose match ranks in the first k."""
    return jnp.mean(ranks_N < k)


def normalized_ranks(
    ranks_N: jax.Array, reference_compat: bool = False
) -> tuple[jax.Array, jax.Array]:
    """(MNR, MdNR): mean and median of (rank + 1) / N (the lower middle with reference_compat)."""
    normalized_N = (ranks_N + 1.0) / ranks_N.shape[0]
    if reference_compat:
        median = jnp.sort(normalized_N)[(normalized_N.shape[0] - 1) // 2]
    else:
        median = jnp.median(normalized_N)
    return jnp.mean(normalized_N), median


def retrieval_metrics(
    preset_emb_NxE: jax.Array,
    audio_emb_NxE: jax.Array,
    *,
    recall_metric: Metric = "cosine",
    reference_compat: bool = False,
) -> dict[str, float]:
    """One run of the paper's test protocol (facts 7.2-7.3) on N (preset, audio) embedding pairs.

    Returns "l1"; "mrr" and "top{k}_mrr" (k = 1..5) for preset -> audio retrieval with L1
    distance; "recall@{k}" (k = 1, 5, 10), "mnr" and "mdnr" for both directions ("a2p_", "p2a_")
    with `recall_metric` distance, and their averages ("avg_"). `reference_compat`: module doc.
    """
    out = {"l1": jnp.mean(jnp.abs(preset_emb_NxE - audio_emb_NxE))}
    compat = reference_compat
    ranks_p2a = match_ranks(preset_emb_NxE, audio_emb_NxE, metric="l1", reference_compat=compat)
    out["mrr"] = mrr(ranks_p2a)
    for k in range(1, 6):
        out[f"top{k}_mrr"] = top_k_mrr(ranks_p2a, k)
    for direction, (q, keys) in {
        "a2p": (audio_emb_NxE, preset_emb_NxE),
        "p2a": (preset_emb_NxE, audio_emb_NxE),
    }.items():
        ranks = match_ranks(q, keys, metric=recall_metric, reference_compat=compat)
        for k in (1, 5, 10):
            out[f"{direction}_recall@{k}"] = recall_at_k(ranks, k)
        out[f"{direction}_mnr"], out[f"{direction}_mdnr"] = normalized_ranks(ranks, compat)
    for name in ("recall@1", "recall@5", "recall@10", "mnr", "mdnr"):
        out[f"avg_{name}"] = (out[f"a2p_{name}"] + out[f"p2a_{name}"]) / 2
    return {k: float(v) for k, v in out.items()}
