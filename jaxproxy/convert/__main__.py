"""CLI: convert the reference's checkpoints and datasets to ours.

    python -m jaxproxy.convert checkpoint CKPT --out DIR [--synth diva@paper_era]
    python -m jaxproxy.convert checkpoint SSM_CKPT --mel-stats HC_SET --out DIR
    python -m jaxproxy.convert dataset SRC --out DST [--formats array_record,tfrecord]

`checkpoint`: a Lightning .ckpt or bare state dict of MLP-OH, HN-OH, HN-PT, HN-PTGRU or TFM (the
fine-tuned sound-matching proxies too) -> DIR with config, synth spec, orbax checkpoint and
`export/` (use with `jaxproxy evaluate --proxy=DIR/export`); a sound-matching checkpoint
(estimator, and the proxy saved with it) -> an estimator export for `jaxproxy match --estimator
DIR`. `dataset`: a reference dataset folder (configs.pkl + pickled tensors) -> one of our dataset
folders with the same examples. A bad file or flag ends with one line naming it, exit code 2,
and nothing written. Details: docs/converters.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from data_gen.cli_support.command_line import (
    OneLineParser,
    fail,
    in_dir_problem,
    invoked_as,
    out_dir_problem,
)
from data_gen.dataset.schema import DEFAULT_FORMATS

MODULE = "jaxproxy.convert"


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=invoked_as(MODULE),
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ckpt = sub.add_parser("checkpoint", help="reference checkpoint -> our workdir or export")
    ckpt.add_argument("ckpt", help="Lightning .ckpt or a state dict saved with torch.save")
    ckpt.add_argument("--out", required=True, help="output folder (replaced if it exists)")
    ckpt.add_argument("--synth", help="check this synth instead of detecting it from the layout")
    ckpt.add_argument("--audio-model", help="audio model name (default: from the output size)")
    ckpt.add_argument("--num-heads", type=int, default=8, help="TFM attention heads (paper: 8)")
    ckpt.add_argument(
        "--mel-stats",
        help="sound-matching checkpoints only: the estimator's training log-mel min/max "
        "(stats_train.pkl, the reference dataset folder holding it, or its converted folder)",
    )
    ckpt.add_argument(
        "--unsafe-pickle",
        action="store_true",
        help="allow arbitrary pickled objects (trusted files)",
    )
    data = sub.add_parser("dataset", help="reference dataset folder -> our dataset folder")
    data.add_argument("src", help="folder holding configs.pkl and the *.pkl tensors")
    data.add_argument("--out", required=True, help="output dataset folder (new or empty)")
    data.add_argument("--synth", help="check this synth instead of detecting it")
    data.add_argument(
        "--formats",
        type=lambda text: [t for t in text.split(",") if t],
        default=list(DEFAULT_FORMATS),
        help="comma-separated subset of array_record,tfrecord (default: both, as `generate`); "
        "training and TFDS data sources read array_record, tf.data reads tfrecord",
    )
    data.add_argument(
        "--unsafe-pickle",
        action="store_true",
        help="allow arbitrary pickled objects (trusted files)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    prog = invoked_as(MODULE, args.command)
    # Path arguments are checked before anything is read or written.
    problem = out_dir_problem(args.out)
    if args.command == "dataset":
        problem = problem or in_dir_problem(args.src, "SRC", "reference dataset folder")
    if problem:
        return fail(prog, problem)
    try:
        if args.command == "checkpoint":
            from jaxproxy.convert.checkpoint import convert_checkpoint

            facts = convert_checkpoint(
                args.ckpt,
                args.out,
                synth=args.synth,
                audio_model=args.audio_model,
                num_heads=args.num_heads,
                unsafe_pickle=args.unsafe_pickle,
                mel_stats=args.mel_stats,
            )
            print(f"{args.ckpt}: {facts['summary']}")
        else:
            from jaxproxy.convert.dataset import convert_dataset

            report = convert_dataset(
                args.src,
                args.out,
                synth=args.synth,
                unsafe_pickle=args.unsafe_pickle,
                formats=args.formats,
            )
            print(f"{args.src}: {report['summary']} -> {args.out}")
    except (ValueError, OSError) as err:  # a bad file or flag: named in one line
        return fail(prog, err)
    return 0


if __name__ == "__main__":
    sys.exit(main())
