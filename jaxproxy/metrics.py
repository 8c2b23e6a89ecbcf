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

One-vs-all rankings (the test protocol: 4,096 x 4,096 pairs of 192-d embeddings per run) are
computed a chunk of queries at a time, distances and ranks fused, with L1/L2 distances accumulated
`_DIMS_PER_STEP` embedding dimensions per step (`_chunk_distances`).
"""

import functools

import jax
import jax.numpy as jnp

Metric = str  # "l1", "l2" or "cosine"

# L1/L2 distances add this many embedding dimensions per step of a scan: XLA CPU then emits one
# vectorised elementwise loop per step over (queries x keys), split over the cores, with the
# step's query values in registers; 2.5x faster than one broadcast-and-reduce over all
# dimensions, while 32 per step spills registers and is slower (measured, AVX-512).
_DIMS_PER_STEP = 16
# Queries per chunk of a one-vs-all ranking: 256 x 4,096 distances (4 MiB) stay in cache.
_CHUNK = 256


def _unit(x_NxE: jax.Array) -> jax.Array:
    return x_NxE / jnp.linalg.norm(x_NxE, axis=-1, keepdims=True)


def _distances(queries_QxE: jax.Array, keys_KxE: jax.Array, metric: Metric) -> jax.Array:
    """Returns float32[Q, K] distances (one broadcast and reduce: for small problems)."""
    if metric == "l1":
        return jnp.abs(queries_QxE[:, None, :] - keys_KxE[None, :, :]).sum(-1)
    if metric == "l2":
        return jnp.sqrt(jnp.square(queries_QxE[:, None, :] - keys_KxE[None, :, :]).sum(-1))
    if metric == "cosine":
        return 1.0 - _unit(queries_QxE) @ _unit(keys_KxE).T
    raise ValueError(f"metric must be 'l1', 'l2' or 'cosine', got {metric!r}")


def _prepare_keys(keys_KxE: jax.Array, metric: Metric) -> jax.Array:
    """Keys laid out once per ranking for `_chunk_distances`."""
    if metric == "cosine":
        return _unit(keys_KxE)
    if metric not in ("l1", "l2"):
        raise ValueError(f"metric must be 'l1', 'l2' or 'cosine', got {metric!r}")
    pad = -keys_KxE.shape[1] % _DIMS_PER_STEP  # zero columns add |0 - 0| = 0 to every distance
    keys_ExK = jnp.pad(keys_KxE, ((0, 0), (0, pad))).T
    return keys_ExK.reshape(-1, _DIMS_PER_STEP, keys_KxE.shape[0])  # GxUxK


def _chunk_distances(queries_CxE: jax.Array, keys: jax.Array, metric: Metric) -> jax.Array:
    """float32[C, K] distances from a chunk of queries to keys from `_prepare_keys`."""
    if metric == "cosine":
        return 1.0 - _unit(queries_CxE) @ keys.T
    num_steps, dims, num_keys = keys.shape
    queries_CxGU = jnp.pad(queries_CxE, ((0, 0), (0, num_steps * dims - queries_CxE.shape[1])))
    queries_GxCxU = queries_CxGU.reshape(-1, num_steps, dims).transpose(1, 0, 2)
    term = jnp.abs if metric == "l1" else jnp.square

    def add_dims(acc_CxK, step_inputs):
        q_CxU, k_UxK = step_inputs
        for u in range(dims):  # one fused loop: acc + |q_0 - k_0| + ... + |q_15 - k_15|
            acc_CxK = acc_CxK + term(q_CxU[:, u, None] - k_UxK[None, u])
        return acc_CxK, None

    acc_CxK = jnp.zeros((queries_CxE.shape[0], num_keys), jnp.float32)
    acc_CxK, _ = jax.lax.scan(add_dims, acc_CxK, (queries_GxCxU, keys))
    return acc_CxK if metric == "l1" else jnp.sqrt(acc_CxK)


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
    chunk: int = _CHUNK,
    reference_compat: bool = False,
) -> jax.Array:
    """int32[N]: the 0-based rank of keys[i] among all N keys for query i (one-vs-all).

    Queries are processed `chunk` rows at a time, so memory stays O(chunk * N).
    """
    return _match_ranks(queries_NxE, keys_NxE, metric, chunk, reference_compat)


def _map_query_chunks(queries_NxE: jax.Array, chunk: int, distances_to_out) -> jax.Array:
    """`lax.map` of `distances_to_out(match_C, dist_CxK)` over chunks of `chunk` queries.

    `dist_CxK` are the chunk's distances from `_chunk_distances`, `match_C` each row's own column
    (padding rows of the last chunk point at any valid column; their outputs are dropped).
    """
    n = queries_NxE.shape[0]
    chunk = min(chunk, n)
    pad = -n % chunk
    chunks_KxCxE = jnp.pad(queries_NxE, ((0, pad), (0, 0))).reshape(-1, chunk, queries_NxE.shape[1])

    def of_chunk(inputs):
        start, q_CxE = inputs
        match_C = jnp.minimum(start + jnp.arange(chunk), n - 1)
        return distances_to_out(match_C, q_CxE)

    starts = jnp.arange(0, n + pad, chunk)
    out_KxC = jax.lax.map(of_chunk, (starts, chunks_KxCxE))
    return out_KxC.reshape(-1, *out_KxC.shape[2:])[:n]


def _match_ranks(
    queries_NxE: jax.Array, keys_NxE: jax.Array, metric: Metric, chunk: int, reference_compat: bool
) -> jax.Array:
    keys = _prepare_keys(keys_NxE, metric)

    def ranks_of_chunk(match_C, q_CxE):
        dist_CxK = _chunk_distances(q_CxE, keys, metric)
        return _rank_of_match(dist_CxK, match_C, reference_compat)

    return _map_query_chunks(queries_NxE, chunk, ranks_of_chunk)


@functools.partial(jax.jit, static_argnames=("metric", "chunk"))
def subset_ranks(
    queries_NxE: jax.Array,
    keys_NxE: jax.Array,
    subsets_RxS: jax.Array,
    metric: Metric = "l1",
    chunk: int = _CHUNK,
) -> jax.Array:
    """int32[R, S]: for each run r and member i of subsets[r], the rank of keys[i] for query i
    among the keys of that subset only: `match_ranks` of every subset, from one N x N pass.

    Each query's distances to all N keys are computed once (the same numbers as the per-subset
    rankings: the same chunked computation, element by element), and the keys at least as close
    as the match are counted per subset with one matmul against the runs' membership matrix.
    With overlapping subsets (R S^2 > N^2, e.g. 100 runs of 4,096 from 16,384 examples) this is
    R S^2 / N^2 times less distance work than ranking each subset on its own. Ties count
    pessimistically; `reference_compat`'s order of ties depends on each subset's order, so that
    rule ranks one subset at a time (`match_ranks`).
    """
    n, (runs, size) = queries_NxE.shape[0], subsets_RxS.shape
    member_NxR = jnp.zeros((n, runs), jnp.float32)
    member_NxR = member_NxR.at[subsets_RxS, jnp.arange(runs)[:, None]].set(1.0)
    keys = _prepare_keys(keys_NxE, metric)

    def ranks_of_chunk(match_C, q_CxE):
        dist_CxN = _chunk_distances(q_CxE, keys, metric)
        d_match_C = jnp.take_along_axis(dist_CxN, match_C[:, None], axis=1)[:, 0]
        ahead_CxN = (dist_CxN <= d_match_C[:, None]).astype(jnp.float32)  # the match included
        # Counts are at most S <= 2^24, exact in float32.
        counts_CxR = jnp.dot(ahead_CxN, member_NxR, precision=jax.lax.Precision.HIGHEST)
        ranks_CxR = (counts_CxR - 1.0).astype(jnp.int32)
        return jnp.where(jnp.isfinite(d_match_C)[:, None], ranks_CxR, size - 1)

    ranks_NxR = _map_query_chunks(queries_NxE, chunk, ranks_of_chunk)
    return jnp.take_along_axis(ranks_NxR.T, subsets_RxS, axis=1)


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


def retrieval_metric_arrays(
    preset_emb_NxE: jax.Array,
    audio_emb_NxE: jax.Array,
    *,
    recall_metric: Metric = "cosine",
    reference_compat: bool = False,
) -> dict[str, jax.Array]:
    """One run of the paper's test protocol (facts 7.2-7.3) on N (preset, audio) embedding pairs.

    Returns float32 scalars (traceable, for use under `jit` / `lax.map`): "l1"; "mrr" and
    "top{k}_mrr" (k = 1..5) for preset -> audio retrieval with L1 distance; "recall@{k}"
    (k = 1, 5, 10), "mnr" and "mdnr" for both directions ("a2p_", "p2a_") with `recall_metric`
    distance, and their averages ("avg_"). `reference_compat`: module doc.
    """
    compat = reference_compat
    ranks_l1 = _match_ranks(preset_emb_NxE, audio_emb_NxE, "l1", _CHUNK, compat)
    ranks_a2p = _match_ranks(audio_emb_NxE, preset_emb_NxE, recall_metric, _CHUNK, compat)
    ranks_p2a = _match_ranks(preset_emb_NxE, audio_emb_NxE, recall_metric, _CHUNK, compat)
    l1 = jnp.mean(jnp.abs(preset_emb_NxE - audio_emb_NxE))
    return metrics_of_ranks(l1, ranks_l1, ranks_a2p, ranks_p2a, reference_compat=compat)


def metrics_of_ranks(
    l1: jax.Array,
    ranks_l1_N: jax.Array,
    ranks_a2p_N: jax.Array,
    ranks_p2a_N: jax.Array,
    *,
    reference_compat: bool = False,
) -> dict[str, jax.Array]:
    """`retrieval_metric_arrays` from one run's mean L1 and its three rankings."""
    out = {"l1": l1, "mrr": mrr(ranks_l1_N)}
    for k in range(1, 6):
        out[f"top{k}_mrr"] = top_k_mrr(ranks_l1_N, k)
    for direction, ranks in (("a2p", ranks_a2p_N), ("p2a", ranks_p2a_N)):
        for k in (1, 5, 10):
            out[f"{direction}_recall@{k}"] = recall_at_k(ranks, k)
        out[f"{direction}_mnr"], out[f"{direction}_mdnr"] = normalized_ranks(
            ranks, reference_compat
        )
    for name in ("recall@1", "recall@5", "recall@10", "mnr", "mdnr"):
        out[f"avg_{name}"] = (out[f"a2p_{name}"] + out[f"p2a_{name}"]) / 2
    return out


def retrieval_metrics(
    preset_emb_NxE: jax.Array,
    audio_emb_NxE: jax.Array,
    *,
    recall_metric: Metric = "cosine",
    reference_compat: bool = False,
) -> dict[str, float]:
    """`retrieval_metric_arrays` as Python floats, for one subset."""
    one_run = jax.jit(
        retrieval_metric_arrays, static_argnames=("recall_metric", "reference_compat")
    )
    arrays = one_run(
        preset_emb_NxE,
        audio_emb_NxE,
        recall_metric=recall_metric,
        reference_compat=reference_compat,
    )
    return {k: float(v) for k, v in arrays.items()}
