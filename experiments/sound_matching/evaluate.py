"""Evaluation stage of `experiments.sound_matching`: every exported estimator on the in-domain
test split and the out-of-domain targets, `--refine` on the latter, and audio examples."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from data_gen.ood.target_set import load_target_set
from jaxproxy.data import open_dataset
from jaxproxy.export_estimator import load_estimator
from jaxproxy.matching import evaluation, plots
from jaxproxy.matching.render_client import RenderClient
from jaxproxy.models.estimator import decode_presets

METRIC_RATE = 32000  # facts 9.7: metrics on 32 kHz renders
EXAMPLE_SEED = 999  # export_audio_eval.py's seed


def _embed(model: str, weights: str | None, audio_NxS: np.ndarray) -> np.ndarray:
    """Target embeddings under the proxy's audio model, by data_gen in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "clips.npy", audio_NxS.astype(np.float32))
        command = [sys.executable, "-m", "data_gen.audio", "embed", model,
                   str(Path(tmp) / "clips.npy"), "--rate", str(METRIC_RATE),
                   "--out", str(Path(tmp) / "emb.npy")]  # fmt: skip
        subprocess.run(command + (["--weights", weights] if weights else []), check=True)
        return np.load(Path(tmp) / "emb.npy")


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
        ood_mel = evaluation.log_mels(targets.audio)
        id_preds, ood_preds, id_per, ood_per = {}, {}, {}, {}
        ood_logits = {}
        for label, est in loaded.items():
            print(f"=== evaluate {label}", flush=True)
            pred = _decode(est, evaluation.predict_logits(est, id_mel))
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
            ood_logits[label] = evaluation.predict_logits(est, ood_mel)
            scores = evaluation.score_predictions(
                client, _decode(est, ood_logits[label]), targets.audio, workers=args.workers
            )
            results["ood"][label], ood_preds[label], ood_per[label] = (
                _round(scores.metrics), scores.audio, scores.per_example)  # fmt: skip
        if args.refine_steps:
            results["refine"] = _refine(
                args, loaded, proxy, client, targets.audio, ood_logits, results["ood"]
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


def _decode(estimator: Any, logits_NxW: np.ndarray) -> np.ndarray:
    return np.asarray(decode_presets(logits_NxW, estimator.layout), np.float32)


def _refine(args, loaded, proxy_path: Path, client, target_audio, logits, before) -> dict:
    """Refinement through the proxy on the out-of-domain targets, for each estimator."""
    from jaxproxy import load_proxy
    from jaxproxy.matching.refine import refine_presets

    proxy = load_proxy(str(proxy_path))
    target_emb = _embed(next(iter(loaded.values())).config.audio_model, None, target_audio)
    out = {}
    for label, est in loaded.items():
        print(f"=== refine {label}: {args.refine_steps} steps on {len(target_audio)} targets")
        refined = refine_presets(proxy, est.layout, logits[label], target_emb, args.refine_steps)
        after = evaluation.score_predictions(
            client, refined.presets, target_audio, workers=args.workers
        )
        out[label] = {
            "steps": args.refine_steps,
            "proxy_l1_before": round(float(refined.hard_losses[0].mean()), 5),
            "proxy_l1_after": round(float(refined.losses.mean()), 5),
            "improved_by_proxy": int((refined.best_steps > 0).sum()),
            "before": before[label],  # the same presets, scored above
            "after": _round(after.metrics),
        }
    return out
