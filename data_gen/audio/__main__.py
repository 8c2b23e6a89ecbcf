"""Audio-model CLI: list the models, or fetch EfficientAT weights into the cache ahead of a run.

    python -m data_gen.audio list
    python -m data_gen.audio fetch mn04 mn20_mel         # official release -> cache, load-checked
    python -m data_gen.audio fetch mn04 --source /path/mn04_as_mAP_432.pt --sha256 <hex>
    python -m data_gen.audio embed mel128 clips.npy --rate 32000 --out emb.npy   # [N, S] -> [N, E]

Workers that later ask for `get_audio_model(name)` (weights=None) find the cached file offline.
"""

import argparse
import io
import pathlib
import sys

from data_gen.audio import efficientat, weights
from data_gen.audio.efficientat_cache import CHECKPOINT_FILES, cache_dir
from data_gen.audio.registry import get_audio_model, list_audio_models
from data_gen.cli_support.command_line import (
    OneLineParser,
    about,
    fail,
    first_problem,
    in_file_problem,
    invoked_as,
    out_file_problem,
)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(
        prog=invoked_as("data_gen.audio"),
        description=__doc__.split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered models with their dimension and sample rate")
    fetch = sub.add_parser(
        "fetch",
        help="download (or copy from --source) and check weights",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    fetch.add_argument(
        "models", nargs="+", choices=sorted(efficientat.VARIANTS), help="EfficientAT variants"
    )
    fetch.add_argument("--source", default=None, help="local file or URL instead of the release")
    fetch.add_argument("--sha256", default=None, help="expected SHA-256 of the file")
    embed = sub.add_parser("embed", help="embed clips (.npy float [N, samples]) -> .npy [N, E]")
    embed.add_argument("model", help="a registered audio model name")
    embed.add_argument("clips", help=".npy float [N, samples]")
    embed.add_argument("--rate", type=int, required=True, help="sample rate of the clips")
    embed.add_argument("--out", required=True, help=".npy [N, E] to write")
    embed.add_argument("--weights", default=None, help="EfficientAT weights (as for generate)")
    args = parser.parse_args(argv)

    if args.command == "embed":
        first_problem(embed, in_file_problem(args.clips, "clips"), out_file_problem(args.out))
        return _embed(embed.prog, args)
    if args.command == "list":
        for name in list_audio_models():
            random = "random" if name in efficientat.VARIANTS else None
            model = get_audio_model(name, weights=random, device="cpu")
            print(f"{name}\t{model.embedding_dim}\t{model.sample_rate} Hz")
        return 0
    source = args.source
    if source is not None and "://" not in source:
        first_problem(fetch, in_file_problem(source, "--source"))
        source = pathlib.Path(source).expanduser().resolve().as_uri()  # copied into the cache
    for name in args.models:
        try:  # downloads (or copies --source) into the cache only if it loads strictly
            with about(f"{name} --source" if source else name):
                model = get_audio_model(name, weights=source, device="cpu", sha256=args.sha256)
        except ValueError as err:  # a file that is not these weights, a bad hash
            return fail(fetch.prog, err)
        except RuntimeError as err:  # the download itself failed
            return fail(fetch.prog, f"{name}: {err}", code=1)
        path = cache_dir() / CHECKPOINT_FILES[efficientat.VARIANTS[name].checkpoint]
        digest = weights.file_sha256(path)
        print(f"{name}: {path} (sha256 {digest}) loads; version {model.version}")
    return 0


def _embed(prog: str, args: argparse.Namespace) -> int:
    """Embeds clips for tools on the JAX side (e.g. `jaxproxy.match --refine`), out of process."""
    import numpy as np

    from data_gen.presets.presets_json import write_bytes_atomic

    try:
        clips = np.load(args.clips)
    except (ValueError, OSError, EOFError) as err:
        return fail(prog, f"clips {args.clips}: not a .npy array ({err})")
    try:
        model = get_audio_model(args.model, weights=args.weights, device="cpu")
        emb_NxE = model.embed(clips, sample_rate=args.rate)
        buffer = io.BytesIO()
        np.save(buffer, emb_NxE.astype(np.float32))
        write_bytes_atomic(args.out, buffer.getvalue())
    except (ValueError, OSError, RuntimeError) as err:
        return fail(prog, err)
    return 0


if __name__ == "__main__":
    sys.exit(main())
