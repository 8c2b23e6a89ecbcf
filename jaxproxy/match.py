"""Sound matching for musicians: sound files in, a preset for the synth out (the CLI module).

    python -m jaxproxy.match sound.wav --estimator exports/amsynth_ssm --out matched/
    python -m jaxproxy.match sounds/ other.flac --estimator exports/amsynth_ssm --refine 30 --out m/
    python -m jaxproxy.match sound.wav --synth minisub --out matched/   # the shipped model (zoo)

Each input is brought to the level the estimator was trained on (said on the first line), the
estimator predicts a preset, the preset is rendered as the paper renders (note 60 held 2 s in a 5 s
clip, 32 kHz) by one render service for all inputs, and the paper's audio metrics are printed as
is and loudness-matched, with the pitch of input and prediction. With `--refine N`, N gradient
steps through the proxy, then the best `--candidates` presets are rendered and the closest to the
input kept (never worse than the estimator's own; `jaxproxy.matching.refine`).

One input: --out holds `preset.bank` / `preset.syx` / `preset.json` (the synth's format),
`predicted.wav`, `input.wav` (the input as compared: mono, 32 kHz, 5 s, its own level),
`spectrograms.png`, `metrics.json` and `report.html` (open it in a browser). Several inputs (or a
folder): one such subfolder per sound, plus `summary.csv` and `index.html`. A reused --out is
replaced whole (only a folder this tool wrote, or an empty one). A bad file or flag stops with
one line and exit code 2, and nothing is written. This process imports neither torch nor
DawDreamer (rendering and embedding run in data_gen child processes). The library behind it is
the package `jaxproxy.matching`.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

from data_gen.cli_support.command_line import OneLineParser, invoked_as, out_dir_problem

EXIT_INPUT = 2  # a bad input file or flag: nothing written
EXIT_FAILED = 1  # rendering or embedding failed on the way: nothing written either
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aif", ".aiff")
MARKER = ".jaxproxy-match"  # marks an --out this tool wrote (so a rerun may replace it)


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=invoked_as("jaxproxy.match"),
        description=__doc__.split("\n\n")[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("sounds", type=Path, nargs="+", help="WAV, FLAC or OGG files, or folders of them")
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--estimator", type=Path, help="an estimator export folder")
    model.add_argument("--synth", help="the synth's shipped estimator and proxy (`jaxproxy zoo`)")
    add("--out", required=True, type=Path, help="output folder (created; a previous one replaced)")
    add("--refine", type=int, default=0, metavar="STEPS", help="gradient steps through the proxy")
    add("--candidates", type=int, default=8, help="--refine: presets rendered to pick from")
    add("--proxy", type=Path, default=None, help="proxy export for --refine (default: the one "
        "the estimator was trained with; with --synth, the shipped one)")  # fmt: skip
    add("--learning-rate", type=float, default=0.05, help="Adam step size of --refine")
    add("--note", type=int, default=60, help="MIDI note the preset is rendered at")
    add("--workers", type=int, default=1, help="render processes")
    return parser


def _fail(message: str, code: int = EXIT_INPUT) -> int:
    print(f"{invoked_as('jaxproxy.match')}: error: {message}", file=sys.stderr)
    return code


def _flag_problem(args: argparse.Namespace) -> str | None:
    """The first bad flag, as one line, or None."""
    checks = [
        (args.refine < 0, f"--refine must be >= 0, got {args.refine}"),
        (args.candidates < 1, f"--candidates must be >= 1, got {args.candidates}"),
        (args.workers < 1, f"--workers must be >= 1, got {args.workers}"),
        (
            not (math.isfinite(args.learning_rate) and args.learning_rate > 0),
            f"--learning-rate must be a finite number > 0, got {args.learning_rate}",
        ),  # fmt: skip
        (bool(out_dir_problem(args.out, "--out")), out_dir_problem(args.out, "--out")),
        (
            args.out.is_dir() and any(args.out.iterdir()) and not (args.out / MARKER).exists(),
            f"--out {args.out} is a non-empty folder this tool did not write: give a new or empty "
            "folder",
        ),  # fmt: skip
    ]
    return next((message for bad, message in checks if bad), None)


def _input_files(paths: list[Path]) -> list[Path]:
    """Files as given; folders expanded to their audio files (sorted). Raises AudioFileError."""
    from data_gen.audio.audio_file import AudioFileError

    files = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                raise AudioFileError(
                    path, f"folder holds no audio file ({', '.join(AUDIO_SUFFIXES)})"
                )
            files += found
        else:
            files.append(path)
    return files


def _folder_names(files: list[Path]) -> list[str]:
    """One output subfolder name per input: its stem, numbered when two inputs share it."""
    names, seen = [], {}
    for path in files:
        stem = path.stem or "sound"
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}_{seen[stem]}")
    return names


def run(args: argparse.Namespace, started: float | None = None) -> int:
    # Imported here so that --help and bad flags answer at once.
    from data_gen.audio.audio_file import AudioFileError, load_clip
    from data_gen.render.settings import RenderSettings
    from jaxproxy.matching import audio_metrics

    if args.synth is not None:  # the shipped entry stands for --estimator (and --proxy)
        from jaxproxy import zoo

        try:
            shipped = zoo.entry(args.synth)
        except ValueError as err:
            return _fail(f"--synth: {err}")
        args.estimator, args.proxy = Path(shipped.estimator), args.proxy or shipped.proxy
    problem = _flag_problem(args)
    if problem:
        return _fail(problem)
    try:
        settings = RenderSettings(sample_rate=audio_metrics.SAMPLE_RATE, midi_note=args.note)
    except ValueError as err:
        return _fail(f"--note: {err}")
    try:
        files = _input_files(args.sounds)
        clips = [load_clip(f, settings.sample_rate, settings.num_samples) for f in files]
    except AudioFileError as err:
        return _fail(str(err))
    from jaxproxy.matching import session  # JAX and Flax: after the cheap checks

    try:
        job = session.Session(args, settings, started or time.perf_counter())
    except session.EstimatorError as err:
        return _fail(str(err))
    with job:
        return _match(args, job, files, clips)


def _match(args, job, files, clips) -> int:
    from jaxproxy.matching.render_client import RenderError

    args.out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{args.out.name}.", dir=args.out.parent))
    try:
        results = job.match(files, clips)
        single = len(files) == 1
        names = _folder_names(files)
        for name, result in zip(names, results, strict=True):
            job.write(staging if single else staging / name, result)
        if not single:
            job.write_summary(staging, names, results)
        staging.chmod(0o755)  # mkdtemp's 0700 is for the scratch, not for the user's folder
        (staging / MARKER).write_text("written by jaxproxy match; a rerun replaces this folder\n")
        _replace(staging, args.out)
    except (RenderError, RuntimeError, OSError, ValueError) as err:
        return _fail(str(err), EXIT_FAILED)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    job.print_results(names, results)
    print(f"wrote {args.out}/" + ("" if single else f": {len(files)} subfolders, summary.csv, "
          "index.html"))  # fmt: skip
    return 0


def _replace(staging: Path, out: Path) -> None:
    """`staging` becomes `out`; a previous `out` (checked to be ours or empty) is removed whole,
    so no file of an earlier run survives."""
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
        out.rename(old / "out")
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(out)


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    return run(_parser().parse_args(argv), started)


if __name__ == "__main__":
    sys.exit(main())
