"""Evaluation stage of `experiments.sound_matching`: every exported estimator on the in-domain
test split and the out-of-domain targets, `--refine` on the latter, and audio examples.

Out of domain, each target is brought to the estimator's training level first
(`jaxproxy.matching.predict.estimate`, as `jaxproxy match` does); in domain, the targets are the
synth's own renders, already in the training distribution, and go in as the paper feeds them. Beside
the paper's metrics: the same metrics loudness-matched (each prediction scaled to its target's
RMS), the f0 metric (`jaxproxy.matching.pitch`), and for `--refine` two controls: the same
refinement toward a shuffled target (a fixed derangement of the targets) with per-note wins of
true over shuffled, and the loudness-only baseline (the unrefined prediction scaled to the
target's RMS, i.e. the loudness-matched score before refining).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from data_gen.ood.target_set import load_target_set
from jaxproxy.data import open_dataset
from jaxproxy.matching import evaluation, plots, predict
from jaxproxy.matching.estimator_loader import load_estimator
from jaxproxy.matching.refine import embed_clips
from jaxproxy.matching.render_client import RenderClient

METRIC_RATE = 32000  # facts 9.7: metrics on 32 kHz renders
EXAMPLE_SEED = 999  # export_audio_eval.py's seed
SHUFFLE_SEED = 26  # the fixed derangement of the shuffled-target control


def _round(metrics: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 5) for k, v in metrics.items()}


def _examples(
    results: Path, domain: str, names: list[str], target_NxS: np.ndarray,
    preds: dict[str, np.ndarray], per_example: dict[str, dict[str, np.ndarray]], picks: np.ndarray,
) -> list[str]:  # fmt: skip
    """target.wav, <schedule>.wav and a side-by-side spectrogram PNG for each picked target, in
    `results/audio/<domain>/`; returns the PNGs' paths relative to `results` (the JSON's folder)."""
    written = []
    for k in picks:
        stem = results / "audio" / domain / names[k].replace("/", "_")
        stem.mkdir(parents=True, exist_ok=True)
        soundfile.write(stem / "target.wav", target_NxS[k], METRIC_RATE, subtype="FLOAT")
        for label, audio in preds.items():
            name = label.lower().replace("+", "_")
            soundfile.write(stem / f"{name}.wav", audio[k], METRIC_RATE, subtype="FLOAT")
        titles = ["target"] + [
            f"{label} (a_mean {per_example[label]['a_mean'][k]:.3f})" for label in preds
        ]
        plots.spectrogram_comparison(
            stem / "spectrograms.png", [target_NxS[k], *(a[k] for a in preds.values())], titles,
            suptitle=names[k],
        )  # fmt: skip
        written.append(str((stem / "spectrograms.png").relative_to(results)))
    return written


def evaluate_all(
    args: Any, estimators: dict[str, Path], hc_test: Path, ood: Path, proxy: Path
) -> dict[str, Any]:
    loaded = {label: load_estimator(path) for label, path in estimators.items()}
    ds = open_dataset(str(hc_test))
    arrays = ds.load_arrays(("params", "mel"))
    spec_json = ds.synth_spec_json
    targets = load_target_set(ood)
    if targets.sample_rate != METRIC_RATE:
        raise ValueError(f"{ood}: targets at {targets.sample_rate} Hz, metrics need {METRIC_RATE}")
    rng = np.random.default_rng(EXAMPLE_SEED)
    out_dir = args.results or args.workdir / "results"
    results: dict[str, Any] = {"id": {}, "ood": {}, "refine": {}, "examples": []}
    with RenderClient(spec_json, {"sample_rate": METRIC_RATE}, args.workers) as client:
        if args.id_limit:
            arrays = {k: v[: args.id_limit] for k, v in arrays.items()}
        target_audio, failed = client.render(arrays["params"])
        ok = ~failed  # a test preset that fails to render cannot be a target
        id_params, id_mel, id_audio = arrays["params"][ok], arrays["mel"][ok], target_audio[ok]
        id_preds, ood_preds, id_per, ood_per = {}, {}, {}, {}
        ood_est, target_f0 = {}, predict.pitch.clips_f0(targets.audio)
        results["ood_controls"] = {}
        for label, est in loaded.items():
            print(f"=== evaluate {label}", flush=True)
            pred = est.decode(evaluation.predict_logits(est, id_mel))
            scores = evaluation.score_predictions(
                client,
                pred,
                id_audio,
                target_presets_NxP=id_params,
                spec_json=spec_json,
                workers=args.workers,
            )
            results["id"][label], id_preds[label], id_per[label] = (
                _round(scores.metrics), scores.audio, scores.per_example)  # fmt: skip
            ood_est[label] = predict.estimate(est, targets.audio)
            scores = evaluation.score_predictions(
                client, ood_est[label].presets, targets.audio, workers=args.workers
            )
            results["ood"][label], ood_preds[label], ood_per[label] = (
                _round(scores.metrics), scores.audio, scores.per_example)  # fmt: skip
            results["ood_controls"][label] = _controls(
                predict.score(scores.audio, targets.audio, scores.failed, args.workers, target_f0)
            )
        if args.refine_steps:
            results["refine"] = _refine(
                args, loaded, proxy, client, targets.audio, ood_est, results, target_f0
            )
        picks_id = np.sort(rng.choice(len(id_audio), min(args.examples, len(id_audio)), False))
        picks_ood = np.sort(rng.choice(len(targets), min(args.examples, len(targets)), False))
        names_id = [f"id_{i:04d}" for i in np.flatnonzero(ok)]
        results["examples"] += _examples(out_dir, "in_domain", names_id, id_audio,
                                         id_preds, id_per, picks_id)  # fmt: skip
        results["examples"] += _examples(out_dir, "out_of_domain", targets.names,
                                         targets.audio, ood_preds, ood_per, picks_ood)  # fmt: skip
    results["synth"] = ds.synth_name
    results["setup"] = {
        "in-domain test": f"{int(ok.sum())} of the {ds.num_examples} hand-crafted {ds.synth_name} "
        "test presets (the 10 % split; the first ones of a random split)",
        "out-of-domain": f"{len(targets)} {targets.kind} notes from "
        f"{targets.source.get('soundfont') or targets.source.get('root')}",
        "estimators": ", ".join(f"{k}: {v}" for k, v in estimators.items()),
        "proxy": str(proxy),
        "render": f"{METRIC_RATE} Hz, note 60, velocity 100, 2 s held, 5 s clips",
    }
    results["ood_set"] = f"{len(targets)} {targets.kind} targets from {ood}"
    return results


def _controls(scored: dict[str, Any]) -> dict[str, Any]:
    """The loudness-matched metrics, the f0 metric and how much louder predictions are."""
    return {
        "loudness_matched": _round(scored["loudness_matched"][0]),
        "pitch": {k: round(float(v), 4) for k, v in scored["f0_metrics"].items()},
        "louder_db_median": round(float(np.nanmedian(scored["louder_db"])), 2),
    }


def derangement(n: int, seed: int = SHUFFLE_SEED) -> np.ndarray:
    """A fixed permutation with no fixed point: note k's shuffled target is note perm[k]."""
    order = np.random.default_rng(seed).permutation(n)
    perm = np.empty(n, np.int64)
    perm[order] = np.roll(order, -1)
    return perm


def _refine(args, loaded, proxy_path: Path, client, target_audio, ood_est, results, target_f0):
    """Refinement through the proxy on the out-of-domain targets, for each estimator, with its
    controls: toward a shuffled target, and the loudness-only baseline."""
    from jaxproxy import load_proxy

    proxy = load_proxy(str(proxy_path))
    perm = derangement(len(target_audio))
    out = {}
    for label, est in loaded.items():
        print(f"=== refine {label}: {args.refine_steps} steps on {len(target_audio)} targets")
        guess = ood_est[label]
        target_emb = embed_clips(est.config.audio_model, guess.audio, METRIC_RATE)
        runs, scored = {}, {}
        for name, rows in (("true", np.arange(len(perm))), ("shuffled", perm)):
            runs[name] = predict.refine(
                proxy, est, guess.logits, target_emb[rows], guess.audio[rows], client,
                args.refine_steps, candidates=args.refine_candidates, workers=args.workers,
            )  # fmt: skip
            audio, failed = client.render(runs[name].presets)
            scored[name] = predict.score(audio, target_audio, failed, args.workers, target_f0)
        true_lm = scored["true"]["loudness_matched"][1]["a_mean"]
        shuffled_lm = scored["shuffled"]["loudness_matched"][1]["a_mean"]
        before = results["ood"][label]
        baseline = results["ood_controls"][label]["loudness_matched"]
        after = _round(scored["true"]["as_is"][0])
        after_lm = _round(scored["true"]["loudness_matched"][0])
        out[label] = {
            "steps": args.refine_steps,
            "candidates": args.refine_candidates,
            "proxy_l1_before": round(float(runs["true"].proxy_before.mean()), 5),
            "proxy_l1_after": round(float(runs["true"].proxy_after.mean()), 5),
            "improved_by_proxy": int((runs["true"].picked > 0).sum()),
            "before": before,  # the same presets, scored above
            "after": after,
            "after_loudness_matched": after_lm,
            "loudness_only": baseline,  # the unrefined prediction scaled to the target's RMS
            "shuffled": _round(scored["shuffled"]["as_is"][0]),
            "shuffled_loudness_matched": _round(scored["shuffled"]["loudness_matched"][0]),
            "true_beats_shuffled": round(float(np.mean(true_lm < shuffled_lm)), 4),
            "ties_with_shuffled": round(float(np.mean(true_lm == shuffled_lm)), 4),
            "gain_as_is": round(1 - after["a_mean"] / before["a_mean"], 4),
            "gain_loudness_matched": round(1 - after_lm["a_mean"] / baseline["a_mean"], 4),
            "pitch_after": _controls(scored["true"])["pitch"],
            "pitch_shuffled": _controls(scored["shuffled"])["pitch"],
        }
        keys = ("true_beats_shuffled", "ties_with_shuffled", "gain_as_is", "gain_loudness_matched")
        print(f"refine {label}: " + json.dumps({k: out[label][k] for k in keys}))
    return out
