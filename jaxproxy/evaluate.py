"""The paper's test protocol for an exported proxy: MRR, top-k MRR, recall@k over random subsets.

python -m jaxproxy.evaluate --proxy=runs/x/export --data=data/minisub_mel128/test --out=eval.json

Each of `runs` runs draws `subset_size` examples (all of them when the set is smaller, as for the
paper's 404 TAL-NM presets), ranks every preset embedding's own audio embedding among the
subset's audio embeddings (L1), and reports mean and std over the runs (facts 7.2-7.3). Subsets
come from numpy's PCG64 seeded with seed + run, not torch's randperm: the figures are the same
protocol, not the reference's exact subsets.
"""

import functools
import json
import os
import time
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags, logging

from data_gen.cli_support.command_line import about, in_dir_problem, out_file_problem
from jaxproxy import load_proxy, metrics, user_errors
from jaxproxy.data import open_dataset
from jaxproxy.logs import setup_cli_logging
from jaxproxy.metrics import retrieval_metric_arrays


def embed_presets(proxy, presets_NxP: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Runs the proxy over all presets in fixed-size batches (one compile), float32[N, E]."""
    encode = jax.jit(proxy.apply)
    n = presets_NxP.shape[0]
    out = np.empty((n, proxy.embedding_dim), np.float32)
    for start in range(0, n, batch_size):
        chunk = presets_NxP[start : start + batch_size]
        pad = batch_size - chunk.shape[0]
        padded = np.pad(chunk, ((0, pad), (0, 0))) if pad else chunk
        out[start : start + chunk.shape[0]] = np.asarray(
            encode(proxy.weights, jnp.asarray(padded))
        )[: chunk.shape[0]]
    return out


def test_protocol(
    preset_emb_NxE: np.ndarray,
    audio_emb_NxE: np.ndarray,
    *,
    runs: int = 100,
    subset_size: int = 4096,
    seed: int = 42,
    reference_compat: bool = False,
) -> dict[str, dict[str, float]]:
    """Mean and std of `retrieval_metric_arrays` over `runs` random subsets.

    All runs are one jitted program (`_metrics_of_runs`): the subsets' indices go in, every run's
    metrics come out, with no host round trip in between. Subsets that overlap (runs x size^2 >
    N^2) share one N x N pass of distances; the figures are the same either way.
    """
    n = preset_emb_NxE.shape[0]
    if n < 2:
        raise ValueError(f"the test protocol needs at least 2 examples, got {n}")
    size = min(subset_size, n)
    subsets_RxS = np.stack(
        [np.random.default_rng(seed + run).permutation(n)[:size] for run in range(runs)]
    ).astype(np.int32)
    shared = _shares_distances(n, runs, size, reference_compat)
    logging.info(
        "test protocol: %d runs on subsets of %d, one program (%s)",
        runs,
        size,
        "distances shared between the overlapping subsets" if shared else "one subset at a time",
    )
    start = time.perf_counter()
    per_run = _metrics_of_runs(
        jnp.asarray(preset_emb_NxE, jnp.float32),
        jnp.asarray(audio_emb_NxE, jnp.float32),
        jnp.asarray(subsets_RxS),
        reference_compat=reference_compat,
    )
    per_run = jax.device_get(per_run)
    logging.info("test protocol: done in %.1f s", time.perf_counter() - start)
    return {
        name: {
            "mean": float(np.mean(v, dtype=np.float64)),
            "std": float(np.std(v, dtype=np.float64)),
        }
        for name, v in per_run.items()
    }


def _shares_distances(n: int, runs: int, size: int, reference_compat: bool) -> bool:
    """Whether one N x N pass is less work than a pass per subset (and its N x runs membership
    and rank matrices stay under 256 MiB each); `reference_compat`'s ties need one at a time."""
    return not reference_compat and runs * size * size > n * n and n * runs <= 1 << 26


@functools.partial(jax.jit, static_argnames="reference_compat")
def _metrics_of_runs(
    preset_emb_NxE: jax.Array,
    audio_emb_NxE: jax.Array,
    subsets_RxS: jax.Array,
    reference_compat: bool = False,
) -> dict[str, jax.Array]:
    """float32[R] per metric: `retrieval_metric_arrays` of each run's subset.

    When the subsets overlap enough (R S^2 > N^2), every ranking is computed once over all N
    examples and counted per subset (`metrics.subset_ranks`); otherwise one run at a time.
    """
    n, (runs, size) = preset_emb_NxE.shape[0], subsets_RxS.shape
    if not _shares_distances(n, runs, size, reference_compat):

        def one_run(subset_S):
            return retrieval_metric_arrays(
                preset_emb_NxE[subset_S], audio_emb_NxE[subset_S], reference_compat=reference_compat
            )

        return jax.lax.map(one_run, subsets_RxS)
    presets, audio = preset_emb_NxE, audio_emb_NxE
    ranks = (
        metrics.subset_ranks(presets, audio, subsets_RxS, "l1"),
        metrics.subset_ranks(audio, presets, subsets_RxS, "cosine"),  # audio -> preset
        metrics.subset_ranks(presets, audio, subsets_RxS, "cosine"),
    )

    def run_metrics(subset_S, ranks_l1_S, ranks_a2p_S, ranks_p2a_S):
        l1 = jnp.mean(jnp.abs(presets[subset_S] - audio[subset_S]))
        return metrics.metrics_of_ranks(l1, ranks_l1_S, ranks_a2p_S, ranks_p2a_S)

    return jax.lax.map(lambda args: run_metrics(*args), (subsets_RxS, *ranks))


def evaluate(
    proxy_dir: str,
    data_dir: str,
    *,
    runs: int = 100,
    subset_size: int = 4096,
    seed: int = 42,
    reference_compat: bool = False,
) -> dict[str, object]:
    """Loads an exported proxy and a dataset of the same synth and audio model, and runs the
    test protocol; errors name the flag (--proxy, --data, --runs, --subset_size) at fault."""
    if runs < 1:
        raise ValueError(f"--runs={runs}: must be a whole number >= 1")
    if subset_size < 2:
        raise ValueError(f"--subset_size={subset_size}: must be a whole number >= 2")
    for flag, folder, what in (("--proxy", proxy_dir, "proxy export folder"),
                               ("--data", data_dir, "dataset folder")):  # fmt: skip
        problem = in_dir_problem(folder, flag, what)
        if problem:
            raise (NotADirectoryError if os.path.exists(folder) else FileNotFoundError)(problem)
    with about(f"--proxy {proxy_dir}"):
        proxy = load_proxy(proxy_dir)
    with about(f"--data {data_dir}"):
        dataset = open_dataset(
            data_dir,
            expect_synth=proxy.info["synth"],
            expect_audio_model=proxy.config.get("audio_model"),
            expect_embedding_dim=proxy.embedding_dim,
            expect_num_params=proxy.num_params,
        )
    if subset_size > dataset.num_examples:
        logging.warning(
            "--subset_size=%d is more than the %d examples of %s: every run ranks all of them, "
            "so the %d runs are the same and their std is 0",
            subset_size, dataset.num_examples, data_dir, runs,
        )  # fmt: skip
    logging.info("loading %d examples from %s", dataset.num_examples, data_dir)
    arrays = dataset.load_arrays(("params", "embedding"))
    logging.info("embedding %d presets with %s", dataset.num_examples, proxy_dir)
    preset_emb = embed_presets(proxy, arrays["params"])
    if not np.all(np.isfinite(preset_emb)):
        raise FloatingPointError(f"proxy {proxy_dir} gives non-finite embeddings on {data_dir}")
    return {
        "proxy": proxy_dir,
        "data": data_dir,
        "num_examples": dataset.num_examples,
        "runs": runs,
        "subset_size": min(subset_size, dataset.num_examples),
        "reference_compat": reference_compat,
        "metrics": test_protocol(
            preset_emb,
            arrays["embedding"],
            runs=runs,
            subset_size=subset_size,
            seed=seed,
            reference_compat=reference_compat,
        ),
    }


def format_table(
    result: Mapping[str, object],
    names=("mrr", "l1", "top1_mrr", "avg_recall@1", "avg_recall@5", "avg_recall@10"),
) -> str:
    """A markdown table of the headline metrics."""
    metrics = result["metrics"]
    rows = ["| metric | mean | std |", "|---|---|---|"]
    rows += [f"| {n} | {metrics[n]['mean']:.4f} | {metrics[n]['std']:.4f} |" for n in names]
    return "\n".join(rows)


def main(argv: list[str]) -> None:
    del argv
    FLAGS = flags.FLAGS  # noqa: N806
    problem = FLAGS.out and out_file_problem(FLAGS.out, "--out")
    if problem:
        raise NotADirectoryError(problem)
    setup_cli_logging()
    result = evaluate(
        FLAGS.proxy,
        FLAGS.data,
        runs=FLAGS.runs,
        subset_size=FLAGS.subset_size,
        seed=FLAGS.seed,
        reference_compat=FLAGS.reference_compat,
    )
    print(format_table(result))
    if FLAGS.out:
        os.makedirs(os.path.dirname(os.path.abspath(FLAGS.out)), exist_ok=True)
        tmp = FLAGS.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(result, f, indent=2)
        os.replace(tmp, FLAGS.out)


if __name__ == "__main__":
    flags.DEFINE_string("proxy", None, "Export folder (jaxproxy export).", required=True)
    flags.DEFINE_string("data", None, "Dataset folder of the same synth and audio model.",
                        required=True)  # fmt: skip
    flags.DEFINE_string("out", None, "Where to write the results as JSON.")
    flags.DEFINE_integer("runs", 100, "Random subsets (>= 1).")
    flags.DEFINE_integer("subset_size", 4096, "Examples per subset (all when the set is smaller).")
    flags.DEFINE_integer("seed", 42, "Subset seed of run 0.")
    flags.DEFINE_bool(
        "reference_compat",
        False,
        "The reference's tie order (stable argsort) and lower-middle median rank (metrics.py).",
    )
    user_errors.run(main)
