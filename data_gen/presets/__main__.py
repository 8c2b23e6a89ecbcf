"""Command line: import preset files, process them as the paper does, export presets to files.

python -m data_gen.presets import --synth dx7 /usr/share/hexter/*.dx7 --out dx7.json
python -m data_gen.presets process --synth dx7 dx7.json --out kept.json --report report.json
python -m data_gen.presets export --synth dx7 kept.json --out bank.syx
python -m data_gen.presets export --synth dx7 predictions.npy --out predicted.syx --single
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from data_gen.cli_support.command_line import (
    OneLineParser,
    about,
    fail,
    in_file_problem,
    invoked_as,
    out_file_problem,
)
from data_gen.presets import formats
from data_gen.presets.dx7_sysex import OutOfRangeWarning
from data_gen.presets.errors import PresetFileError
from data_gen.presets.presets_json import load_presets, save_presets, write_json_atomic
from data_gen.presets.processing import process_presets
from data_gen.render.plugins import use_plugin
from data_gen.render.pool import pool_render_fn
from data_gen.synths.registry import get_spec


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=invoked_as("data_gen.presets"),
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    defaults = dict(formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # --help shows them

    imp = sub.add_parser(
        "import", help="preset files -> presets JSON (raw [0, 1] values)", **defaults
    )
    imp.add_argument("--synth", required=True, help=f"one of {sorted(formats.READABLE)}")
    imp.add_argument("files", nargs="+", type=Path, help="preset files (banks, SysEx, ...)")
    imp.add_argument("--out", required=True, type=Path, help="presets JSON to write")
    imp.add_argument("--lenient", action="store_true", help="warn and skip bad presets/files")
    imp.add_argument("--diva-key-map", type=Path, help="Diva only: native-unit key map JSON")
    imp.add_argument(
        "--strict",
        action="store_true",
        help="DX7/Dexed: refuse out-of-range bytes (default: read as Dexed does, clipped, warned)",
    )

    proc = sub.add_parser(
        "process", help="clip, snap, dedupe and RMS-filter a presets JSON", **defaults
    )
    proc.add_argument("--synth", required=True, help="synth name (data_gen.synths.registry)")
    proc.add_argument("presets", type=Path, help="presets JSON (from import)")
    proc.add_argument("--out", required=True, type=Path, help="kept presets JSON")
    proc.add_argument("--report", required=True, type=Path, help="JSON: every dropped preset")
    proc.add_argument("--vectors", type=Path, help="also write the kept vectors (.npy)")
    proc.add_argument("--no-render", action="store_true", help="skip the RMS filter")
    proc.add_argument(
        "--workers", type=int, default=None, help="render processes (None: one per core)"
    )
    proc.add_argument("--lenient", action="store_true", help="warn and skip bad presets")
    proc.add_argument("--no-progress", action="store_true", help="no render progress bar")
    proc.add_argument(
        "--reference-compat",
        action="store_true",
        help="the reference's processing: a missing used parameter becomes 0.0, not its default",
    )
    proc.add_argument(
        "--plugin", help="VST synths: the plug-in file (else $JAXPROXY_PLUGIN_<SYNTH>)"
    )

    exp = sub.add_parser(
        "export", help="presets JSON or vectors .npy -> a synth's preset file", **defaults
    )
    exp.add_argument("--synth", required=True, help=f"one of {sorted(formats.WRITABLE)}")
    exp.add_argument("source", type=Path, help="presets JSON, or .npy of preset vectors [N, P]")
    exp.add_argument("--out", required=True, type=Path, help="preset file to write")
    exp.add_argument("--names", type=Path, help="with .npy: a text file, one name per line")
    exp.add_argument("--single", action="store_true", help="DX7: single-voice messages")
    exp.add_argument("--split", action="store_true", help="DX7: one file per 32 voices")
    return parser


def _check_synth(expected: str, found: str, path: Path) -> None:
    if found != expected:
        raise PresetFileError(str(path), f"holds {found} presets, not {expected}")


def _path_problems(args: argparse.Namespace) -> list[str | None]:
    """Why the paths given cannot be read or written, checked before any is touched."""
    if args.command == "import":
        key_map = args.diva_key_map and in_file_problem(args.diva_key_map, "--diva-key-map")
        return [*(in_file_problem(f, "files") for f in args.files), key_map,
                out_file_problem(args.out)]  # fmt: skip
    if args.command == "process":
        written = [args.out, args.report, *([args.vectors] if args.vectors else [])]
        return [in_file_problem(args.presets, "presets", "presets JSON"),
                *(out_file_problem(p) for p in written)]  # fmt: skip
    names = args.names and in_file_problem(args.names, "--names")
    return [in_file_problem(args.source, "source"), names, out_file_problem(args.out)]


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    prog = f"{parser.prog} {args.command}"
    problem = next(filter(None, _path_problems(args)), None)
    if problem:
        return fail(prog, problem)
    warnings.simplefilter("default")
    try:
        with about("--synth"):
            spec = get_spec(args.synth)
        if args.command == "import":
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with about("files"):
                    presets = formats.import_files(
                        spec, args.files, args.lenient, args.diva_key_map, args.strict
                    )
            for w in caught:
                print(f"{prog}: warning: {w.message}", file=sys.stderr)
            save_presets(args.out, spec.name, presets)
            repaired = [w for w in caught if issubclass(w.category, OutOfRangeWarning)]
            note = (
                f"; {len(repaired)} out-of-range fields read as Dexed does and clipped"
                " (--strict refuses)"
                if repaired
                else ""
            )
            print(
                f"{len(presets)} {args.synth} presets from {len(args.files)} files -> "
                f"{args.out}{note}"
            )
        elif args.command == "process":
            with about("presets"):
                synth, presets = load_presets(args.presets)
            _check_synth(spec.name, synth, args.presets)
            if not args.no_render and spec.engine == "vst":
                use_plugin(spec, args.plugin)
            render = (
                None
                if args.no_render
                else pool_render_fn(spec, args.workers, progress=not args.no_progress)
            )
            result = process_presets(
                spec,
                presets,
                render=render,
                lenient=args.lenient,
                reference_compat=args.reference_compat,
            )
            save_presets(args.out, spec.name, result.to_imported())
            write_json_atomic(args.report, result.report)
            if args.vectors:
                np.save(args.vectors, result.vectors)
            print(
                f"kept {len(result.names)} of {len(presets)} presets -> {args.out}; "
                f"{result.report['num_dropped']} dropped, reasons in {args.report}"
            )
        else:
            if args.source.suffix == ".npy":
                names = args.names.read_text().splitlines() if args.names else None
                with about("source"):
                    vectors = _load_vectors(args.source)
                presets = formats.vectors_to_presets(spec, vectors, names)
            else:
                with about("source"):
                    synth, presets = load_presets(args.source)
                _check_synth(spec.name, synth, args.source)
            written = formats.export_presets(
                spec, presets, args.out, single=args.single, split=args.split
            )
            print(f"{len(presets)} presets -> {', '.join(map(str, written))}")
    except (PresetFileError, ValueError, OSError, RuntimeError) as err:  # RenderPoolError too
        return fail(prog, err)
    return 0


def _load_vectors(path: Path) -> np.ndarray:
    try:
        return np.load(path)
    except (ValueError, OSError, EOFError) as err:
        raise PresetFileError(str(path), f"not a .npy array of preset vectors ({err})") from err


if __name__ == "__main__":
    sys.exit(main())
