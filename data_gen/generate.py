"""CLI: generate a (preset, embedding) dataset folder resumably, write a preset set, merge parts.

    python -m data_gen.generate --synth minisub --audio-model mel128 --split train --size 100000 \
        --seed 500 --out data/minisub_mel128_train [--formats tfrecord,array_record] \
        [--shard-size 4096] [--workers 2] [--index-start A --index-end B] [--extras mel]
    python -m data_gen.generate --preset paper-val --synth minisub --audio-model mel128 --out DIR
    python -m data_gen.generate merge PART [PART ...] --out DIR
    python -m data_gen.generate presets --synth dx7 --presets dx7.json --audio-model mel128 \
        --split test --out DIR

Rerunning the same command after an interruption (Ctrl-C, kill -9, full disk) continues after
the last complete shard. `--index-start/--index-end` generate one part of the index range (e.g.
one per machine); `merge` joins the parts after checking they cover every index exactly once.
`presets` takes a presets JSON (`python -m data_gen.presets import ...`), applies the paper's
processing (used parameters, clip, snap, exact duplicates), then renders each preset as it is,
drops those whose RMS is outside the range, and writes `preset_report.json` with every drop.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from data_gen.dataset import extras as extras_lib
from data_gen.dataset import schema
from data_gen.dataset.generator import PAPER_PRESETS, generate, share_cores_with_workers
from data_gen.dataset.merge import merge
from data_gen.dataset.writer import DatasetWriteError
from data_gen.efficientat_cache import default_audio_model
from data_gen.flag_checks import OneLineParser, check_common, check_generation


def _csv(text: str) -> list[str]:
    return [t for t in text.split(",") if t]


def _common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--synth", default="minisub", help="synth name (data_gen.synths.registry)")
    p.add_argument(
        "--audio-model",
        default=None,
        help="audio model name (data_gen.audio); default mn04 when its official weights are "
        "cached, else mel128",
    )
    p.add_argument(
        "--weights",
        default=None,
        help="EfficientAT weights: a path/URL, or 'random[:seed]' for a random init",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--formats",
        type=_csv,
        default=["array_record", "tfrecord"],
        help=f"comma-separated subset of {','.join(schema.FORMATS)}; training and TFDS data "
        "sources read array_record, tf.data reads tfrecord (default: both)",
    )
    p.add_argument("--shard-size", type=int, default=4096, help="indices per shard")
    p.add_argument(
        "--workers",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="render worker processes (default: one per available core)",
    )
    p.add_argument("--batch-size", type=int, default=64, help="clips per audio-model batch")
    p.add_argument(
        "--extras",
        type=_csv,
        default=[],
        help=f"optional per-example features: {','.join(extras_lib.EXTRAS)}",
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds before a hung render")
    p.add_argument("--device", default=None, help="torch device of the audio model")
    p.add_argument(
        "--dtype",
        choices=("float32", "float16"),
        default="float32",
        help="audio-model compute: float16 = CUDA autocast, as the reference embedded its data",
    )
    p.add_argument(
        "--plugin",
        default=None,
        help="VST synths (dexed, diva, talnm): the plug-in file; else $JAXPROXY_PLUGIN_<SYNTH>",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--reference-compat",
        action="store_true",
        help="the reference's behaviour where we differ: RMS redraws without a cap; hand-crafted "
        "presets' missing used parameters set to 0.0 (README: differences)",
    )


def generation_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="python -m data_gen.generate",
        description="Generate a (preset, embedding) dataset from random presets.",
        epilog="subcommands: `merge PART [PART ...] --out DIR` joins index-range parts; "
        "`presets --presets FILE ...` renders a hand-crafted presets JSON as a dataset "
        "(each has its own --help).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _common_args(p)
    p.add_argument(
        "--preset",
        choices=sorted(PAPER_PRESETS),
        help="the paper's split/size/seed (explicit flags override it)",
    )
    p.add_argument("--split", default=None, help="split name, e.g. train, val, test")
    p.add_argument("--size", type=int, default=None, help="number of examples (indices)")
    p.add_argument("--seed", type=int, default=None, help="dataset seed")
    p.add_argument("--index-start", type=int, default=0, help="first index of this part")
    p.add_argument("--index-end", type=int, default=None, help="end (exclusive) of this part")
    return p


def presets_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="python -m data_gen.generate presets",
        description="Write a hand-crafted preset set (presets JSON) as a dataset folder.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _common_args(p)
    p.add_argument("--presets", required=True, help="presets JSON from data_gen.presets import")
    p.add_argument("--split", default="test", help="split name")
    return p


def merge_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="python -m data_gen.generate merge",
        description="Merge complete index-range parts of one dataset.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("parts", nargs="+", help="part folders")
    p.add_argument("--out", required=True, help="merged output folder (new or empty)")
    p.add_argument("--copy", action="store_true", help="copy shards instead of hard-linking")
    return p


def resolve(args: argparse.Namespace) -> tuple[str, int, int]:
    """(split, size, seed) from --preset and the explicit flags; raise naming what is missing."""
    split, size, seed = PAPER_PRESETS.get(args.preset, (None, None, None))
    split = args.split or split
    size = args.size if args.size is not None else size
    seed = args.seed if args.seed is not None else seed
    missing = [n for n, v in (("--split", split), ("--size", size), ("--seed", seed)) if v is None]
    if missing:
        raise ValueError(f"give {', '.join(missing)} (or --preset {'|'.join(PAPER_PRESETS)})")
    return split, size, seed


def _locate_plugin(spec, plugin: str | None) -> None:
    """Find a VST synth's plug-in before any work starts; the render workers inherit it."""
    from data_gen.render.plugins import use_plugin

    if spec.engine == "vst":
        use_plugin(spec, plugin)
    elif plugin is not None:
        raise ValueError(f"--plugin: synth {spec.name!r} is not a VST plug-in ({spec.engine})")


def load_inputs(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """(spec, render settings, audio model); bad names exit with the parser's error."""
    try:
        extras_lib.check(args.extras)
        from data_gen.audio import get_audio_model
        from data_gen.render import RenderSettings
        from data_gen.synths.registry import get_spec

        spec = get_spec(args.synth)
        _locate_plugin(spec, args.plugin)
        args.audio_model = args.audio_model or default_audio_model()
        model = get_audio_model(
            args.audio_model, args.weights, args.device, args.dtype, batch_size=args.batch_size
        )
    except (ValueError, FileNotFoundError) as e:
        parser.error(str(e))
    if str(model.device).startswith("cpu"):
        share_cores_with_workers(args.workers)
    cap = -1 if args.reference_compat else RenderSettings.max_resamples
    return spec, RenderSettings(sample_rate=model.sample_rate, max_resamples=cap), model


def _writer_kwargs(args: argparse.Namespace) -> dict:
    return dict(
        formats=args.formats,
        shard_size=args.shard_size,
        workers=args.workers,
        batch_size=args.batch_size,
        extras=args.extras,
        timeout_s=args.timeout,
        progress=not args.no_progress,
    )


def _run_presets(argv: list[str]) -> None:
    from data_gen.dataset.preset_sets import write_preset_set
    from data_gen.presets.preset_set import load_presets
    from data_gen.presets.processing import process_presets

    parser = presets_parser()
    args = parser.parse_args(argv)
    try:
        check_common(args)
    except ValueError as e:
        parser.error(str(e))
    spec, settings, model = load_inputs(parser, args)
    synth, presets = load_presets(args.presets)
    if synth != spec.name:
        parser.error(f"{args.presets} holds {synth} presets, not {spec.name}")
    processed = process_presets(  # the RMS filter comes next
        spec, presets, render=None, reference_compat=args.reference_compat
    )
    report = write_preset_set(
        args.out, spec, settings, model, processed.vectors, split=args.split,
        names=processed.names, sources=processed.sources, processing_report=processed.report,
        **_writer_kwargs(args),
    )  # fmt: skip
    dropped = processed.report["num_dropped"] + len(report["dropped_at_render"])
    print(f"{args.out}: {report['num_written']} of {len(presets)} presets written, {dropped} "
          f"dropped (reasons in {args.out}/preset_report.json)")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; errors a person can act on end with a message, not a traceback."""
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except (DatasetWriteError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "interrupted: complete shards are kept; rerun the same command to resume",
            file=sys.stderr,
        )
        return 130


def _main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if argv[:1] == ["merge"]:
        parser = merge_parser()
        args = parser.parse_args(argv[1:])
        try:
            meta = merge(args.parts, args.out, copy=args.copy)
        except (ValueError, FileNotFoundError) as e:
            parser.error(str(e))
        print(f"merged {len(args.parts)} parts: {meta['num_examples']} examples in {args.out}")
        return 0
    if argv[:1] == ["presets"]:
        _run_presets(argv[1:])
        return 0
    parser = generation_parser()
    args = parser.parse_args(argv)
    try:
        split, size, seed = resolve(args)
        check_generation(args, size)
    except ValueError as e:
        parser.error(str(e))
    spec, settings, model = load_inputs(parser, args)
    meta = generate(
        args.out, spec, settings, model, seed=seed, split=split, size=size,
        index_start=args.index_start, index_end=args.index_end, **_writer_kwargs(args),
    )  # fmt: skip
    print(
        f"{args.out}: {meta['num_examples']} examples, {len(meta['failed_indices'])} failed, "
        f"{meta['num_rejected']} RMS rejections, complete={meta['complete']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
