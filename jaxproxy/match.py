"""Sound matching for musicians: a sound file in, a preset for the synth out.

    python -m jaxproxy.match sound.wav --estimator exports/dx7_ssm_switch --out matched/
    python -m jaxproxy.match sound.flac --estimator exports/dx7_ssm_switch --refine 200 --out m/
    python -m jaxproxy.match sound.wav --synth minisub --out matched/   # the shipped model (zoo)

Writes into --out: the predicted preset in the synth's own format (`preset.syx`, one DX7 voice;
`preset.bank` for amsynth; `preset.json` otherwise), `predicted.wav` (the preset rendered as the
paper renders: note 60 held 2 s in a 5 s clip, 32 kHz), `input.wav` (the input as compared: mono,
32 kHz, 5 s), `spectrograms.png` (input vs prediction) and `metrics.json`; prints the paper's audio
metrics against the input. With `--refine N`, N gradient steps through the proxy refine the preset
(beyond the paper: `jaxproxy.matching.refine`), and both presets are rendered and scored.

Any WAV/FLAC/OGG works: stereo is averaged, other rates resampled (soxr), other lengths padded or
cut (the tool says which). A silent, empty, unreadable or non-audio file stops with one line and
exit code 2, and nothing is written. Rendering runs in a `data_gen` service process; the input's
embedding (for --refine) is computed by `data_gen` in a child process: this process imports
neither torch nor DawDreamer.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.cli_support.command_line import OneLineParser, invoked_as, out_dir_problem

EXIT_INPUT = 2  # a bad input file or flag: nothing written
EXIT_FAILED = 1  # rendering or embedding failed on the way: nothing written either
METRIC_NAMES = ("stft", "mstft", "mel", "mfccd", "a_mean")


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=invoked_as("jaxproxy.match"),
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("sound", type=Path, help="a WAV, FLAC or OGG file")
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--estimator", type=Path, help="an estimator export folder")
    model.add_argument("--synth", help="the synth's shipped estimator and proxy (`jaxproxy zoo`)")
    add("--out", required=True, type=Path, help="output folder (created)")
    add("--refine", type=int, default=0, metavar="STEPS", help="gradient steps through the proxy")
    add("--proxy", type=Path, default=None, help="proxy export for --refine (default: the one "
        "the estimator was trained with; with --synth, the shipped one)")  # fmt: skip
    add("--learning-rate", type=float, default=0.05, help="Adam step size of --refine")
    add("--note", type=int, default=60, help="MIDI note the preset is rendered at")
    add("--workers", type=int, default=1, help="render processes")
    return parser


def _fail(message: str, code: int = EXIT_INPUT) -> int:
    print(f"{invoked_as('jaxproxy.match')}: error: {message}", file=sys.stderr)
    return code


def _embed(audio_model: str, clip_S: np.ndarray, rate: int, tmp: Path) -> np.ndarray:
    """The input's embedding under the proxy's audio model (data_gen, torch, in a child)."""
    np.save(tmp / "clip.npy", clip_S[None].astype(np.float32))
    done = subprocess.run(
        [sys.executable, "-m", "data_gen.audio", "embed", audio_model, str(tmp / "clip.npy"),
         "--rate", str(rate), "--out", str(tmp / "emb.npy")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"embedding the input with {audio_model}: {done.stderr.strip()}")
    return np.load(tmp / "emb.npy")[0]


def _presets(args, estimator, clip, rate: int, tmp: Path) -> dict[str, np.ndarray]:
    """{"estimator": its preset} and, with --refine, {"refined": the refined preset}."""
    from jaxproxy.mel import ssm_log_mel
    from jaxproxy.models.estimator import decode_presets

    logits_1xW = np.asarray(estimator.logits(ssm_log_mel(clip.audio)[None].astype(np.float32)))
    presets = {"estimator": np.asarray(decode_presets(logits_1xW, estimator.layout))[0]}
    if args.refine:
        from jaxproxy import load_proxy
        from jaxproxy.matching.refine import refine_presets

        proxy = load_proxy(str(args.proxy or estimator.config.proxy))
        target_1xE = _embed(estimator.config.audio_model, clip.audio, rate, tmp)[None]
        refined = refine_presets(proxy, estimator.layout, logits_1xW, target_1xE, args.refine,
                                 learning_rate=args.learning_rate)  # fmt: skip
        presets["refined"] = refined.presets[0]
        print(f"refine: proxy L1 {refined.hard_losses[0, 0]:.4f} -> {refined.losses[0]:.4f} "
              f"(best at step {refined.best_steps[0]} of {args.refine})")  # fmt: skip
    return presets


def _write(staging: Path, args, spec, clip, presets, audio_KxS, scores, settings) -> str:
    """Every output file into `staging`; returns the preset file's name."""
    import soundfile

    from data_gen.presets.formats import preset_suffix, write_preset
    from jaxproxy.matching import plots

    final = "refined" if "refined" in presets else "estimator"
    preset_name = f"preset{preset_suffix(spec)}"
    write_preset(spec, presets[final], staging / preset_name, f"match {args.sound.stem}"[:40])
    rate = settings.sample_rate
    soundfile.write(staging / "input.wav", clip.audio, rate, subtype="FLOAT")
    for label, audio_S in zip(presets, audio_KxS, strict=True):
        name = "predicted.wav" if label == final else f"predicted_{label}.wav"
        soundfile.write(staging / name, audio_S, rate, subtype="FLOAT")
    titles = [f"input: {args.sound.name}"]
    titles += [f"{label} (a_mean {scores[label]['a_mean']:.3f})" for label in presets]
    plots.spectrogram_comparison(
        staging / "spectrograms.png", [clip.audio, *audio_KxS], titles, sample_rate=rate,
        suptitle=f"{spec.name}, log-mel (dB)",
    )  # fmt: skip
    report = {"input": str(args.sound), "input_prepared": clip.describe(),
              "input_warnings": list(clip.warnings), "synth": spec.name,
              "render": settings.to_json(), "final": final, "metrics": scores,
              "presets": {label: p.tolist() for label, p in presets.items()}}  # fmt: skip
    (staging / "metrics.json").write_text(json.dumps(report, indent=1))
    return preset_name


def run(args: argparse.Namespace) -> int:
    # Imported here so that --help and bad flags answer at once.
    from data_gen.audio.audio_file import AudioFileError, load_clip
    from data_gen.render.settings import RenderSettings
    from data_gen.synths.spec import SynthSpec
    from jaxproxy.matching import audio_metrics
    from jaxproxy.matching.render_client import RenderClient, RenderError

    if args.synth is not None:  # the shipped entry stands for --estimator (and --proxy)
        from jaxproxy import zoo

        try:
            shipped = zoo.entry(args.synth)
        except ValueError as err:
            return _fail(f"--synth: {err}")
        args.estimator, args.proxy = shipped.estimator, args.proxy or shipped.proxy
    if args.refine < 0:
        return _fail(f"--refine must be >= 0, got {args.refine}")
    if not (math.isfinite(args.learning_rate) and args.learning_rate > 0):
        return _fail(f"--learning-rate must be a finite number > 0, got {args.learning_rate}")
    if args.workers < 1:
        return _fail(f"--workers must be >= 1, got {args.workers}")
    problem = out_dir_problem(args.out, "--out")
    if problem:
        return _fail(problem)
    try:
        settings = RenderSettings(sample_rate=audio_metrics.SAMPLE_RATE, midi_note=args.note)
    except ValueError as err:
        return _fail(f"--note: {err}")
    try:
        clip = load_clip(args.sound, settings.sample_rate, settings.num_samples)
    except AudioFileError as err:
        return _fail(str(err))
    from jaxproxy.export_estimator import load_estimator  # JAX and Flax: after the cheap checks

    try:
        estimator = load_estimator(str(args.estimator))
    except (OSError, ValueError, KeyError) as err:
        return _fail(f"--estimator {args.estimator}: {err}")
    print(f"input {args.sound}: {clip.describe()}")
    for warning in clip.warnings:  # e.g. a WAV cut short: matched as it is, but say so
        print(f"{invoked_as('jaxproxy.match')}: warning: {warning}", file=sys.stderr)
    spec = SynthSpec.from_json(estimator.spec_json)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{args.out.name}.", dir=args.out.parent))
    try:
        presets = _presets(args, estimator, clip, settings.sample_rate, staging)
        for leftover in staging.iterdir():  # the embedding's scratch files
            leftover.unlink()
        with RenderClient(spec.to_json(), settings.to_json(), args.workers) as client:
            audio_KxS, failed = client.render(np.stack(list(presets.values())))
        if failed.any():
            raise RenderError(f"the predicted preset failed to render ({spec.name})")
        per = audio_metrics.example_metrics(audio_KxS, np.repeat(clip.audio[None], len(presets), 0))
        scores = {label: {m: float(per[m][k]) for m in per} for k, label in enumerate(presets)}
        preset_name = _write(staging, args, spec, clip, presets, audio_KxS, scores, settings)
        args.out.mkdir(exist_ok=True)
        for item in staging.iterdir():  # only now does anything land in --out
            os.replace(item, args.out / item.name)
    except (RenderError, RuntimeError, OSError, ValueError) as err:
        return _fail(str(err), EXIT_FAILED)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _print_scores(scores)
    print(f"wrote {args.out}/: {preset_name}, predicted.wav, input.wav, spectrograms.png, "
          "metrics.json")  # fmt: skip
    return 0


def _print_scores(scores: dict[str, dict[str, Any]]) -> None:
    print(f"{'vs input':<12}" + "".join(f"{n:>9}" for n in METRIC_NAMES))
    for label, values in scores.items():
        print(f"{label:<12}" + "".join(f"{values[n]:>9.4f}" for n in METRIC_NAMES))
    print("(lower is better; MFCCD x 0.25 and a_mean as the paper reports them)")


def main(argv: list[str] | None = None) -> int:
    return run(_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
