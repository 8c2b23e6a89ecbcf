"""CLI: generate a (preset, embedding) dataset folder resumably, write a preset set, merge parts.

    python -m data_gen.generate --synth minisub --audio-model mel128 --split train --size 100000 \
        --seed 500 --out data/minisub_mel128_train [--formats tfrecord,array_record] \
        [--shard-size 4096] [--workers 2] [--index-start A --index-end B] [--extras mel] \
        [--keep-workers SECONDS]
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
`--keep-workers` (default 600 s for dx7) leaves the render workers running for the next call,
which then renders at once instead of compiling dx7's algorithms again
(`data_gen.render.keepalive`).
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from data_gen.cli_support.command_line import (
    about,
    fail,
    first_problem,
    in_dir_problem,
    in_file_problem,
    invoked_as,
    out_dir_problem,
)
from data_gen.dataset.generation_flags import (
    check_common,
    generation_parser,
    load_inputs,
    merge_parser,
    parse_generation,
    pool_kwargs,
    presets_parser,
    writer_options,
)
from data_gen.dataset.merge import merge
from data_gen.dataset.options import WriterOptions
from data_gen.dataset.synthetic import generate
from data_gen.dataset.writer import DatasetWriteError
from data_gen.render.worker_set import RenderPoolError
from data_gen.synths.spec_file import synth_name


def _run_presets(argv: list[str]) -> None:
    from data_gen.dataset.handcrafted import write_preset_set
    from data_gen.presets.presets_json import load_presets
    from data_gen.presets.processing import process_presets

    parser = presets_parser()
    args = parser.parse_args(argv)
    first_problem(parser, in_file_problem(args.presets, "--presets", "presets JSON"))
    try:
        check_common(args)
        with about("--presets"):  # PresetFileError names the file
            synth, presets = load_presets(args.presets)
        with about("--synth"):
            expected = synth_name(args.synth)  # a spec file's presets carry its spec's name
    except ValueError as e:
        parser.error(str(e))
    if synth != expected:
        parser.error(f"--presets {args.presets}: holds {synth} presets, not {args.synth}")
    spec, settings, model = load_inputs(parser, args)
    processed = process_presets(  # the RMS filter comes next
        spec, presets, render=None, reference_compat=args.reference_compat
    )
    report = write_preset_set(
        args.out, spec, settings, model, processed.vectors, _options(args, spec),
        split=args.split, names=processed.names, sources=processed.sources,
        processing_report=processed.report,
    )  # fmt: skip
    dropped = processed.report["num_dropped"] + len(report["dropped_at_render"])
    print(f"{args.out}: {report['num_written']} of {len(presets)} presets written, {dropped} "
          f"dropped (reasons in {args.out}/preset_report.json)")  # fmt: skip


def _options(args, spec) -> WriterOptions:
    """The flags' writer options, with kept render workers when `--keep-workers` asks for them."""
    return dataclasses.replace(writer_options(args), **pool_kwargs(args, spec))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; errors a person can act on end with a message, not a traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(argv)
    except (DatasetWriteError, RenderPoolError, ValueError, OSError) as e:
        # Past the flag checks (exit 2): a full disk, a plug-in that will not start, ...
        sub = argv[0] if argv[:1] in (["merge"], ["presets"]) else ""
        return fail(invoked_as("data_gen.generate", sub), e, code=1)
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
        parts = [in_dir_problem(p, "PART", "dataset folder") for p in args.parts]
        out = Path(args.out)
        full = out.is_dir() and any(out.iterdir())
        first_problem(
            parser,
            *parts,
            out_dir_problem(out),
            full and f"--out {out}: not empty (merge writes a new or empty folder)",
        )
        try:
            with about("PART", (ValueError, FileNotFoundError)):  # --out is fine: the parts are not
                meta = merge(args.parts, args.out, copy=args.copy)
        except ValueError as e:
            parser.error(str(e))
        print(f"merged {len(args.parts)} parts: {meta['num_examples']} examples in {args.out}")
        return 0
    if argv[:1] == ["presets"]:
        _run_presets(argv[1:])
        return 0
    parser = generation_parser()
    args, part = parse_generation(parser, argv)
    spec, settings, model = load_inputs(parser, args)
    meta = generate(args.out, spec, settings, model, part, _options(args, spec))
    print(
        f"{args.out}: {meta['num_examples']} examples, {len(meta['failed_indices'])} failed, "
        f"{meta['num_rejected']} RMS rejections, complete={meta['complete']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
