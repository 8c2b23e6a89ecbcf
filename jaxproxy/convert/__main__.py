"""CLI: convert the reference's checkpoints and datasets to ours.

    python -m jaxproxy.convert checkpoint CKPT --out DIR [--synth diva@paper_era]
    python -m jaxproxy.convert dataset SRC --out DST

`checkpoint`: a Lightning .ckpt or bare state dict of MLP-OH, HN-OH, HN-PT, HN-PTGRU or TFM (the
fine-tuned sound-matching proxies too) -> DIR with config, synth spec, orbax checkpoint and
`export/` (use with `jaxproxy evaluate --proxy=DIR/export`). `dataset`: a reference dataset folder
(configs.pkl + pickled tensors) -> one of our dataset folders with the same examples.
Errors a person can act on end with one line naming the file, key or field.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from data_gen.dataset.schema import DEFAULT_FORMATS
from jaxproxy.user_errors import one_line

EXIT_INPUT = 2  # a bad input file or flag: one line, nothing written


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jaxproxy.convert",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ckpt = sub.add_parser("checkpoint", help="reference encoder checkpoint -> our workdir + export")
    ckpt.add_argument("ckpt", help="Lightning .ckpt or a state dict saved with torch.save")
    ckpt.add_argument("--out", required=True, help="output workdir (replaced if it exists)")
    ckpt.add_argument("--synth", help="check this synth instead of detecting it from the layout")
    ckpt.add_argument("--audio-model", help="audio model name (default: from the output size)")
    ckpt.add_argument("--num-heads", type=int, default=8, help="TFM attention heads (paper: 8)")
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
    args = _parser().parse_args(argv)
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
            )
            print(
                f"{args.ckpt}: {facts['encoder']} for {facts['synth']} ({facts['audio_model']}, "
                f"{facts['num_keys']} keys) -> {args.out} (export in {args.out}/export)"
            )
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
        print(f"error: {one_line(err)}", file=sys.stderr)
        return EXIT_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
