"""The work of one `jaxproxy match` call: an estimator, one render service, any number of sounds.

`Session` starts the render service in a thread while JAX loads the estimator (the two slowest
start-up steps overlap), predicts every sound in one batch (`predict.estimate`), optionally refines
(`predict.refine`), renders, scores (`predict.score`), writes each sound's folder and the summary,
and keeps the time of each phase for the printout.
"""

from __future__ import annotations

import concurrent.futures
import csv
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from jaxproxy.matching import plots, predict, report_html
from jaxproxy.matching.render_client import RenderClient

METRIC_NAMES = ("stft", "mstft", "mel", "mfccd", "a_mean")


class EstimatorError(ValueError):
    """The --estimator folder cannot be used; str() is one line naming it."""


def _read_spec(folder: Path) -> dict[str, Any]:
    from jaxproxy.matching.estimator_loader import SPEC_FILE

    try:
        return json.loads((folder / SPEC_FILE).read_text())
    except (OSError, ValueError) as err:
        raise EstimatorError(
            f"--estimator {folder}: no readable {SPEC_FILE} ({err.__class__.__name__}); is it an "
            "estimator export?"
        ) from None


class Session:
    """See the module docstring; a context manager (closes the render service)."""

    def __init__(self, args: Any, settings: Any, started: float) -> None:
        from data_gen.synths.spec import SynthSpec

        self.args, self.settings = args, settings
        self.times: dict[str, float] = {}
        spec_json = _read_spec(args.estimator)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            client = pool.submit(RenderClient, spec_json, settings.to_json(), args.workers)
            try:
                from jaxproxy.matching.estimator_loader import load_estimator

                self.estimator = load_estimator(str(args.estimator))
            except (OSError, ValueError, KeyError) as err:
                client.add_done_callback(lambda f: f.exception() or f.result().close())
                raise EstimatorError(f"--estimator {args.estimator}: {err}") from None
            self.client = client.result()
        self.spec = SynthSpec.from_json(spec_json)
        self.times["start-up"] = time.perf_counter() - started

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def _timed(self, phase: str, start: float) -> float:
        now = time.perf_counter()
        self.times[phase] = self.times.get(phase, 0.0) + now - start
        return now

    def match(self, files: list[Path], clips: list[Any]) -> list[dict[str, Any]]:
        """Every sound matched and scored: one dict per sound (see `write`)."""
        from jaxproxy.matching.render_client import RenderError

        inputs = np.stack([c.audio for c in clips])
        est = predict.estimate(self.estimator, inputs, self.times)
        print(predict.level_line(self.estimator, est.gain_db))
        from data_gen.cli_support.command_line import invoked_as

        for path, clip in zip(files, clips, strict=True):
            print(f"input {path}: {clip.describe()}")
            for warning in clip.warnings:  # e.g. a WAV cut short: matched as it is, but say so
                print(f"{invoked_as('jaxproxy.match')}: warning: {warning}", file=sys.stderr)
        presets = {"estimator": est.presets}
        refined = None
        if self.args.refine:
            refined = self._refine(est)
            presets["refined"] = refined.presets
        start = time.perf_counter()
        audio = {}
        for label, batch in presets.items():
            audio[label], failed = self.client.render(batch)
            if failed.any():
                raise RenderError(f"{int(failed.sum())} predicted presets failed to render")
        start = self._timed("render", start)
        target_f0 = predict.pitch.clips_f0(inputs)
        scores = {
            label: predict.score(a, inputs, target_f0_N=target_f0) for label, a in audio.items()
        }
        self._timed("metrics", start)
        final = "refined" if refined is not None else "estimator"
        return [
            {"file": str(f), "clip": c, "gain_db": float(est.gain_db[n]), "final": final,
             "presets": {k: v[n] for k, v in presets.items()},
             "audio": {k: v[n] for k, v in audio.items()},
             "input_f0": float(target_f0[n]),
             "scores": {k: _one(s, n) for k, s in scores.items()},
             "refine": None if refined is None else {
                 "proxy_l1_before": float(refined.proxy_before[n]),
                 "proxy_l1_after": float(refined.proxy_after[n]),
                 "candidate": int(refined.picked[n])}}
            for n, (f, c) in enumerate(zip(files, clips, strict=True))
        ]  # fmt: skip

    def _refine(self, est: predict.Estimate) -> predict.RefineResult:
        from jaxproxy import load_proxy
        from jaxproxy.matching.refine import embed_clips

        start = time.perf_counter()
        config = self.estimator.config
        proxy = load_proxy(str(self.args.proxy or config.proxy))
        target = embed_clips(config.audio_model, est.audio, self.settings.sample_rate)
        result = predict.refine(
            proxy, self.estimator, est.logits, target, est.audio, self.client, self.args.refine,
            candidates=self.args.candidates, learning_rate=self.args.learning_rate,
        )  # fmt: skip
        self._timed("refine", start)
        kept = int((result.picked > 0).sum())
        print(
            f"refine: {self.args.refine} steps, {self.args.candidates} candidates rendered per "
            f"sound; a refined preset beat the estimator's on {kept} of {len(result.picked)}"
        )
        return result

    def write(self, folder: Path, result: dict[str, Any]) -> None:
        """One sound's files: preset, WAVs, spectrograms.png, metrics.json, report.html."""
        import soundfile

        from data_gen.presets.formats import preset_suffix, write_preset

        start = time.perf_counter()
        folder.mkdir(parents=True, exist_ok=True)
        name = Path(result["file"]).name
        final = result["final"]
        preset_file = f"preset{preset_suffix(self.spec)}"
        write_preset(self.spec, result["presets"][final], folder / preset_file,
                     f"match {Path(result['file']).stem}"[:40])  # fmt: skip
        rate = self.settings.sample_rate
        soundfile.write(folder / "input.wav", result["clip"].audio, rate, subtype="FLOAT")
        wavs = {"input": "input.wav"}
        for label, audio_S in result["audio"].items():
            wav = "predicted.wav" if label == final else f"predicted_{label}.wav"
            soundfile.write(folder / wav, audio_S, rate, subtype="FLOAT")
            wavs[f"prediction ({label})"] = wav
        scores = result["scores"]
        titles = [f"input: {name}"] + [
            f"{label} (a_mean {scores[label]['as_is']['a_mean']:.3f})" for label in scores
        ]
        plots.spectrogram_comparison(
            folder / "spectrograms.png", [result["clip"].audio, *result["audio"].values()],
            titles, sample_rate=rate, suptitle=f"{self.spec.name}, log-mel (dB)",
        )  # fmt: skip
        report = {k: v for k, v in result.items() if k not in ("clip", "audio", "presets")}
        report.update(input_prepared=result["clip"].describe(), synth=self.spec.name,
                      input_warnings=list(result["clip"].warnings),
                      render=self.settings.to_json(),
                      presets={k: v.tolist() for k, v in result["presets"].items()})  # fmt: skip
        (folder / "metrics.json").write_text(json.dumps(report, indent=1, default=_json))
        headers, rows = _metric_rows([(name, result)])
        report_html.write_report(
            folder, title=f"{name} -> {self.spec.name} preset",
            lines=[f"input: {result['file']} ({result['clip'].describe()})",
                   f"level: the estimator saw it {result['gain_db']:+.1f} dB; the metrics compare "
                   "with the input at its own level ('as is') and with each prediction scaled "
                   "to the input's RMS ('loudness-matched')",
                   _pitch_line(result)],
            audio=wavs, metrics_headers=headers, metrics_rows=rows,
            preset=report_html.preset_rows(self.spec, result["presets"][final]),
            preset_file=preset_file,
        )  # fmt: skip
        self._timed("write", start)

    def write_summary(self, folder: Path, names: list[str], results: list[dict]) -> None:
        """`summary.csv` and `index.html`: one row per sound and preset."""
        headers, rows = _metric_rows(list(zip(names, results, strict=True)))
        with open(folder / "summary.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["folder", "file", *headers[1:]])
            files = {n: r["file"] for n, r in zip(names, results, strict=True)}
            writer.writerows([[row[0], files[row[0]], *row[1:]] for row in rows])
        report_html.write_index(folder, f"jaxproxy match: {len(names)} sounds", headers, rows)

    def print_results(self, names: list[str], results: list[dict]) -> None:
        headers, rows = _metric_rows(list(zip(names, results, strict=True)))
        print(report_html.text_table(headers, rows))
        print(
            "(lower is better; MFCCD x 0.25 and a_mean as the paper reports them; lm_a_mean: "
            "the prediction scaled to the input's RMS; cents: predicted f0 vs the input's)"
        )
        for name, result in zip(names, results, strict=True):
            print(f"{name}: {_pitch_line(result)}")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        spent = ", ".join(f"{k} {v:.1f} s" for k, v in self.times.items())
        print(f"time: {spent} (load average {load:.1f})")


def _one(score: dict[str, Any], n: int) -> dict[str, Any]:
    """One example's values out of `predict.score`'s batch result."""
    return {
        "as_is": {m: float(score["as_is"][1][m][n]) for m in METRIC_NAMES},
        "loudness_matched": {m: float(score["loudness_matched"][1][m][n]) for m in METRIC_NAMES},
        "f0_hz": float(score["f0"][n]),
        "louder_db": float(score["louder_db"][n]),
    }


def _cents(pred_hz: float, input_hz: float) -> float:
    return float(predict.pitch.cents(np.array([pred_hz]), np.array([input_hz]))[0])


def _metric_rows(named: list[tuple[str, dict]]) -> tuple[list[str], list[list[Any]]]:
    headers = ["sound", "preset", *METRIC_NAMES, "lm_a_mean", "louder_dB", "f0_Hz", "cents"]
    rows = []
    for name, result in named:
        for label, s in result["scores"].items():
            rows.append([name, label, *(s["as_is"][m] for m in METRIC_NAMES),
                         s["loudness_matched"]["a_mean"], s["louder_db"], s["f0_hz"],
                         _cents(s["f0_hz"], result["input_f0"])])  # fmt: skip
    return headers, rows


def _pitch_line(result: dict[str, Any]) -> str:
    f0 = result["input_f0"]
    if not np.isfinite(f0):
        return "pitch: the input is not pitched (no stable f0)"
    s = result["scores"][result["final"]]
    c = _cents(s["f0_hz"], f0)
    if not np.isfinite(c):
        return f"pitch: input {f0:.1f} Hz; the prediction is not pitched"
    verdict = "in tune" if abs(c) <= 50 else (
        "octave error" if abs(c - 1200 * round(c / 1200)) <= 50 else "out of tune")  # fmt: skip
    return f"pitch: input {f0:.1f} Hz, prediction {s['f0_hz']:.1f} Hz ({c:+.0f} cents: {verdict})"


def _json(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return str(value)
