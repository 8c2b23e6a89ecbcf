"""A trained proxy's figures: training curves, UMAP of predicted vs true embeddings, ranks.

python -m experiments.common.figures --name tfm --train-dir RUN/train --proxy RUN/export \
    [--name hn_oh --train-dir ... --proxy ...] \
    --test synthetic=DATA/test --test hand-crafted=DATA/hc --out-dir RESULTS

One process draws several runs (UMAP's numba compilation is paid once). Per run it writes
`<name>_curves.png`; per test set `<name>_<test>_umap.png` (UMAP of a random subset of
predicted and true embeddings, fitted jointly, with the Wasserstein distance between the two
clouds: earth mover's distance with uniform weights and Euclidean cost, `ot.emd2`, in the UMAP
plane and in the embedding space) and `<name>_<test>_ranks.png` (the true match's rank among the
test protocol's first subset, preset -> audio, L1); and `<name>_figures.json` with every number.
A run whose JSON exists is skipped, so an interrupted call resumes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import warnings

import numpy as np

from experiments.common import plots

# POT would import torch (seconds) only to offer it as a backend; numpy is all it needs here.
for _backend in ("PYTORCH", "TENSORFLOW", "CUPY", "JAX"):
    os.environ.setdefault(f"POT_BACKEND_DISABLE_{_backend}", "1")


def wasserstein(a_NxD: np.ndarray, b_MxD: np.ndarray) -> float:
    """Exact W1 between two point clouds (uniform weights, Euclidean ground cost)."""
    import ot

    cost_NxM = ot.dist(a_NxD.astype(np.float64), b_MxD.astype(np.float64), metric="euclidean")
    return float(ot.emd2(ot.unif(len(a_NxD)), ot.unif(len(b_MxD)), cost_NxM))


def umap_pair(a_NxE: np.ndarray, b_MxE: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fits one UMAP on both clouds together and returns their 2-D projections."""
    import umap

    with warnings.catch_warnings():  # "n_jobs overridden by random_state": wanted, for determinism
        warnings.simplefilter("ignore", UserWarning)
        both = umap.UMAP(n_components=2, random_state=seed).fit_transform(
            np.concatenate([a_NxE, b_MxE])
        )
    return both[: len(a_NxE)], both[len(a_NxE) :]


def test_set_figures(
    proxy, data_dir: str, out_prefix: str, title: str, *, points: int, subset_size: int, seed: int
) -> dict[str, object]:
    """UMAP + Wasserstein and rank histogram of one proxy on one test set; returns the numbers."""
    import jax.numpy as jnp

    from jaxproxy.data import open_dataset
    from jaxproxy.evaluate import embed_presets
    from jaxproxy.metrics import match_ranks

    dataset = open_dataset(data_dir, expect_synth=proxy.info["synth"])
    arrays = dataset.load_arrays(("params", "embedding"))
    n = dataset.num_examples
    # The test protocol's first subset (jaxproxy.evaluate.test_protocol, run 0).
    subset = np.random.default_rng(seed).permutation(n)[: min(subset_size, n)]
    pred_NxE = embed_presets(proxy, arrays["params"][subset])
    true_NxE = arrays["embedding"][subset]
    ranks_N = np.asarray(match_ranks(jnp.asarray(pred_NxE), jnp.asarray(true_NxE), metric="l1"))
    ranks_png = plots.plot_rank_histogram(ranks_N, f"{out_prefix}_ranks.png", title)

    shown = min(points, len(subset))
    pred_2d, true_2d = umap_pair(pred_NxE[:shown], true_NxE[:shown], seed)
    w_umap = wasserstein(pred_2d, true_2d)
    umap_png = plots.plot_umap(pred_2d, true_2d, f"{out_prefix}_umap.png", title, w_umap)
    return {
        "data": data_dir,
        "num_examples": n,
        "rank_subset_size": len(subset),
        "mrr_first_subset": float(np.mean(1.0 / (ranks_N + 1))),
        "median_rank": float(np.median(ranks_N)),
        "umap_points": shown,
        "wasserstein_umap": w_umap,
        "wasserstein_embedding": wasserstein(pred_NxE[:shown], true_NxE[:shown]),
        "umap_png": os.path.basename(umap_png),
        "ranks_png": os.path.basename(ranks_png),
    }


def audio_gap_figure(
    tests: dict[str, str], out_dir: str, name: str, *, points: int, seed: int
) -> dict[str, object]:
    """The paper's Fig. 3 analogue: UMAP of the true audio embeddings, synthetic vs hand-crafted.

    The paper measures how far apart the two sets are in the audio embedding space (Wasserstein
    distance between the UMAP clouds: 3.52 for Dexed, 2.41 for Diva) to explain the drop on
    hand-crafted presets. Random subsets of at most `points` per set.
    """
    from jaxproxy.data import open_dataset

    clouds = {}
    for test in ("synthetic", "hand-crafted"):
        emb_NxE = open_dataset(tests[test]).load_arrays(("embedding",))["embedding"]
        keep = np.random.default_rng(seed).permutation(len(emb_NxE))[:points]
        clouds[test] = emb_NxE[keep]
    syn_2d, hc_2d = umap_pair(clouds["synthetic"], clouds["hand-crafted"], seed)
    w_umap = wasserstein(syn_2d, hc_2d)
    png = plots.plot_umap(
        hc_2d, syn_2d, os.path.join(out_dir, f"{name}_audio_synthetic_vs_hand-crafted_umap.png"),
        f"{name}: audio embeddings, synthetic vs hand-crafted presets", w_umap,
        labels=("synthetic presets", "hand-crafted presets"),
    )  # fmt: skip
    out = {
        "points": {k: len(v) for k, v in clouds.items()},
        "wasserstein_umap": w_umap,
        "wasserstein_embedding": wasserstein(clouds["synthetic"], clouds["hand-crafted"]),
        "png": os.path.basename(png),
        "drawn_from": drawn_from(None, tests),
    }
    with open(os.path.join(out_dir, f"{name}_audio_gap.json"), "w") as f:
        json.dump(out, f, indent=2)
    return out


def run_figures(
    *,
    train_dir: str,
    proxy_dir: str,
    name: str,
    title: str,
    tests: dict[str, str],
    out_dir: str,
    points: int = 1000,
    subset_size: int = 4096,
    seed: int = 42,
) -> dict[str, object]:
    """Writes every figure of one run into `out_dir` and returns (and writes) their numbers."""
    from jaxproxy import load_proxy

    curves = plots.read_run_curves(os.path.join(train_dir, "tensorboard"))
    curves_png = plots.plot_training_curves(
        curves, os.path.join(out_dir, f"{name}_curves.png"), title
    )
    proxy = load_proxy(proxy_dir)
    out = {"name": name, "curves_png": os.path.basename(curves_png), "tests": {}}
    out["drawn_from"] = drawn_from(proxy_dir, tests)
    for test, data_dir in tests.items():
        out["tests"][test] = test_set_figures(
            proxy, data_dir, os.path.join(out_dir, f"{name}_{test}"), f"{title}, {test} test set",
            points=points, subset_size=subset_size, seed=seed,
        )  # fmt: skip
    path = os.path.join(out_dir, f"{name}_figures.json")
    with open(path + ".tmp", "w") as f:
        json.dump(out, f, indent=2)
    os.replace(path + ".tmp", path)
    return out


def _fingerprint(path: str) -> str:
    """sha256 of a file: which export (or dataset metadata) figures were drawn from."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def drawn_from(proxy_dir: str | None, tests: dict[str, str]) -> dict[str, object]:
    """What a figure's numbers depend on: the export's weights and each test set's metadata."""
    out: dict[str, object] = {
        "tests": {t: _fingerprint(os.path.join(d, "metadata.json")) for t, d in tests.items()}
    }
    if proxy_dir is not None:
        out["proxy_weights"] = _fingerprint(os.path.join(proxy_dir, "weights.npz"))
    return out


def _up_to_date(json_path: str, expected: dict[str, object]) -> bool:
    """True when `json_path` exists and was drawn from exactly `expected` (resume, not reuse)."""
    if not os.path.isfile(json_path):
        return False
    with open(json_path) as f:
        return json.load(f).get("drawn_from") == expected


def _test_arg(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"--test: expected NAME=DATASET_DIR, got {text!r}")
    return name, path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", action="append", required=True, help="file prefix of a run")
    parser.add_argument("--train-dir", action="append", required=True, help="its training workdir")
    parser.add_argument("--proxy", action="append", required=True, help="its export folder")
    parser.add_argument("--test", type=_test_arg, action="append", default=[], required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--points", type=int, default=1000, help="points per cloud in the UMAP")
    parser.add_argument("--subset-size", type=int, default=4096, help="test protocol subset")
    parser.add_argument("--seed", type=int, default=42, help="test protocol seed of run 0")
    parser.add_argument("--title-prefix", default="", help="e.g. the synth and audio model")
    parser.add_argument(
        "--audio-gap", default=None, help="NAME: also the synthetic vs hand-crafted audio UMAP"
    )
    args = parser.parse_args()
    if not len(args.name) == len(args.train_dir) == len(args.proxy):
        parser.error("give one --train-dir and one --proxy per --name")
    for name, train_dir, proxy_dir in zip(args.name, args.train_dir, args.proxy, strict=True):
        done = os.path.join(args.out_dir, f"{name}_figures.json")
        if _up_to_date(done, drawn_from(proxy_dir, dict(args.test))):
            print(f"figures of {name}: done before from the same export and data, skipped")
            continue
        run_figures(
            train_dir=train_dir, proxy_dir=proxy_dir, name=name,
            title=f"{args.title_prefix}{name}", tests=dict(args.test), out_dir=args.out_dir,
            points=args.points, subset_size=args.subset_size, seed=args.seed,
        )  # fmt: skip
    tests = dict(args.test)
    if args.audio_gap and {"synthetic", "hand-crafted"} <= set(tests):
        gap = os.path.join(args.out_dir, f"{args.audio_gap}_audio_gap.json")
        if not _up_to_date(gap, drawn_from(None, tests)):
            audio_gap_figure(
                tests, args.out_dir, args.audio_gap, points=args.points, seed=args.seed
            )


if __name__ == "__main__":
    main()
