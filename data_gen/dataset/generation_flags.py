"""The generation flags, shared by `data_gen.generate` and the Beam launcher (imported by both).

Definitions (every flag with its default in `--help`), checks before anything touches the disk
(one line per problem), and their resolution into (split, size, seed) and (spec, render
settings, audio model).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from data_gen.audio.efficientat_cache import default_audio_model
from data_gen.cli_support.command_line import OneLineParser, about, invoked_as, out_dir_problem
from data_gen.dataset import checks, schema
from data_gen.dataset import extras as extras_lib
from data_gen.dataset.options import Part, WriterOptions
from data_gen.dataset.production import share_cores_with_workers
from data_gen.dataset.synthetic import PAPER_PRESETS

# dx7's workers compile up to 32 algorithms (15-30 s each): kept 10 min for the next split.
KEEP_COMPILED_S = 600.0


def check_common(args: argparse.Namespace) -> None:
    """Flags shared by `generate` and `presets`; raises ValueError naming the flag."""
    for flag, value in (
        ("--shard-size", args.shard_size),
        ("--batch-size", args.batch_size),
        ("--workers", args.workers),
    ):
        if value < 1:
            raise ValueError(f"{flag} must be a whole number >= 1, got {value}")
    if not args.timeout > 0:
        raise ValueError(f"--timeout must be > 0 seconds, got {args.timeout}")
    if args.keep_workers is not None and not args.keep_workers >= 0:
        raise ValueError(f"--keep-workers must be >= 0 seconds, got {args.keep_workers}")
    schema.check_formats(args.formats)
    try:
        extras_lib.check(args.extras)
    except ValueError as e:
        raise ValueError(f"--extras: {e}") from e
    problem = out_dir_problem(args.out)
    if problem:
        raise ValueError(problem)
    if (Path(args.out) / schema.METADATA_FILE).exists():  # a run to resume: is it readable?
        try:
            checks.read_metadata(args.out, require_complete=False)
        except (OSError, ValueError) as e:
            raise ValueError(f"--out {args.out}: {e}") from e


def check_generation(args: argparse.Namespace, size: int) -> None:
    """`generate`'s flags (after --preset is resolved into `size`)."""
    check_common(args)
    if size < 1:
        raise ValueError(f"--size must be >= 1, got {size}")
    end = size if args.index_end is None else args.index_end
    if not 0 <= args.index_start < end <= size:
        raise ValueError(
            f"--index-start {args.index_start} / --index-end {end}: need 0 <= start < end <= "
            f"--size {size}"
        )


def _csv(text: str) -> list[str]:
    return [t for t in text.split(",") if t]


def add_common_flags(p: argparse.ArgumentParser) -> None:
    """The flags of both `generate` and `presets`."""
    p.add_argument(
        "--synth",
        default="minisub",
        help="synth name (data_gen.synths.registry) or a spec file (jaxproxy-data synth describe)",
    )
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
        default=list(schema.DEFAULT_FORMATS),
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
    p.add_argument(
        "--keep-workers",
        type=float,
        default=None,
        metavar="SECONDS",
        help="keep the render workers (and what they compiled) alive SECONDS after this call, "
        "for the next call with the same synth, sample rate and --workers; 0: stop them with "
        f"this call (default: {KEEP_COMPILED_S:g} for synths that compile a processor per "
        "routing key, dx7's 32 algorithms; 0 for the others)",
    )
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
        "presets' missing used parameters set to 0.0 (docs/differences.md)",
    )


def generation_parser(
    prog: str | None = None,
    epilog: str = "subcommands: `merge PART [PART ...] --out DIR` joins index-range parts; "
    "`presets --presets FILE ...` renders a hand-crafted presets JSON as a dataset "
    "(each has its own --help).",
    usage: str | None = None,
) -> argparse.ArgumentParser:
    """The flags of a synthetic-set generation (the CLI's and the Beam launcher's)."""
    p = OneLineParser(
        prog=prog or invoked_as("data_gen.generate"),
        usage=usage,
        description="Generate a (preset, embedding) dataset from random presets.",
        epilog=epilog,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_common_flags(p)
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
        prog=invoked_as("data_gen.generate", "presets"),
        description="Write a hand-crafted preset set (presets JSON) as a dataset folder.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_common_flags(p)
    p.add_argument("--presets", required=True, help="presets JSON from data_gen.presets import")
    p.add_argument("--split", default="test", help="split name")
    return p


def merge_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=invoked_as("data_gen.generate", "merge"),
        description="Merge complete index-range parts of one dataset.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("parts", nargs="+", metavar="PART", help="part folders")
    p.add_argument("--out", required=True, help="merged output folder (new or empty)")
    p.add_argument("--copy", action="store_true", help="copy shards instead of hard-linking")
    return p


def resolve(args: argparse.Namespace) -> Part:
    """The part to generate from --preset and the explicit flags; raise naming what is missing."""
    paper = PAPER_PRESETS.get(args.preset)
    split, size, seed = (paper.split, paper.size, paper.seed) if paper else (None, None, None)
    split = args.split or split
    size = args.size if args.size is not None else size
    seed = args.seed if args.seed is not None else seed
    missing = [n for n, v in (("--split", split), ("--size", size), ("--seed", seed)) if v is None]
    if missing:
        raise ValueError(f"give {', '.join(missing)} (or --preset {'|'.join(PAPER_PRESETS)})")
    return Part(split, size, seed, args.index_start, args.index_end)


def parse_generation(
    parser: argparse.ArgumentParser, argv: list[str]
) -> tuple[argparse.Namespace, Part]:
    """(flags, the part to generate) for the CLI and the Beam launcher; bad flags exit 2."""
    args = parser.parse_args(argv)
    try:
        part = resolve(args)
        check_generation(args, part.size)
    except ValueError as e:
        parser.error(str(e))
    return args, part


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
        from data_gen.audio import get_audio_model, list_audio_models
        from data_gen.audio.base import resolve_device, resolve_dtype
        from data_gen.render import RenderSettings
        from data_gen.synths.registry import get_spec
        from data_gen.synths.spec_file import is_spec_file

        with about("--device"):  # first: the default audio model below logs its choice
            device = resolve_device(args.device)
        with about("--dtype"):
            resolve_dtype(args.dtype, device)
        with about("--synth"):
            spec = get_spec(args.synth)
        _locate_plugin(spec, args.plugin)
        if is_spec_file(args.synth):  # a file a person edited: refuse a misfit before any work
            from data_gen.render.fit import check_fits

            with about("--synth"):
                check_fits(spec, args.plugin)
        args.audio_model = args.audio_model or default_audio_model()
        if args.audio_model not in list_audio_models():
            raise ValueError(  # here, so that weights errors below can be said as --weights ones
                f"--audio-model: unknown audio model {args.audio_model!r}; choose one of "
                f"{', '.join(list_audio_models())}"
            )
        # What is left to go wrong is the weights: given, cached or downloaded (RuntimeError).
        with about(
            "--weights" if args.weights else "--audio-model", (ValueError, OSError, RuntimeError)
        ):
            model = get_audio_model(
                args.audio_model, args.weights, device, args.dtype, batch_size=args.batch_size
            )
    except (ValueError, OSError) as e:
        parser.error(str(e))
    if str(model.device).startswith("cpu"):
        share_cores_with_workers(args.workers)
    cap = -1 if args.reference_compat else RenderSettings.max_resamples
    return spec, RenderSettings(sample_rate=model.sample_rate, max_resamples=cap), model


def writer_options(args: argparse.Namespace) -> WriterOptions:
    """The writer options the common flags set (the one place they are read)."""
    return WriterOptions(
        formats=tuple(args.formats),
        shard_size=args.shard_size,
        batch_size=args.batch_size,
        extras=tuple(args.extras),
        workers=args.workers,
        timeout_s=args.timeout,
        progress=not args.no_progress,
    )


def pool_kwargs(args: argparse.Namespace, spec) -> dict:
    """The render pool `--keep-workers` asks for (`data_gen.render.keepalive`), as writer kwargs."""
    keep_s = args.keep_workers
    if keep_s is None:
        keep_s = KEEP_COMPILED_S if spec.routing_param is not None else 0.0
    if keep_s == 0:
        return {}
    from data_gen.render.keepalive import kept_pool_factory

    return {"pool_factory": kept_pool_factory(keep_s)}
