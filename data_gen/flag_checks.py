"""The generation CLIs' flags, checked before anything touches the disk: one line per problem."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from data_gen.dataset import extras as extras_lib
from data_gen.dataset import schema


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line (`prog: error: ...`), not the usage block too."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def out_dir_problem(path: str | os.PathLike) -> str | None:
    """Why `--out` cannot be (or become) a dataset folder, or None."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        return f"--out {out}: is a file, not a folder"
    existing = out
    while not existing.exists():
        if existing.is_symlink():
            return f"--out {out}: {existing} is a broken link"
        existing = existing.parent
    if not existing.is_dir():
        return f"--out {out}: {existing} is a file, so no folder can be made under it"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"--out {out}: {existing} is not writable"
    return None


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
    bad = [f for f in args.formats if f not in schema.FORMATS]
    if bad or not args.formats or len(set(args.formats)) != len(args.formats):
        raise ValueError(
            f"--formats must be a comma-separated subset of {','.join(schema.FORMATS)}, "
            f"got {','.join(args.formats) or 'nothing'}"
        )
    try:
        extras_lib.check(args.extras)
    except ValueError as e:
        raise ValueError(f"--extras: {e}") from e
    problem = out_dir_problem(args.out)
    if problem:
        raise ValueError(problem)


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
