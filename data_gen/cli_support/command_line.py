"""What every command-line tool of both halves shares: the name the user typed, one-line flag
errors, and checks of path arguments made before anything touches the disk (stdlib only).

`jaxproxy train ...` runs `python -m jaxproxy.main ...` through `runpy`, which sets `sys.argv[0]`
to `main.py`; the dispatcher records what the user typed here (`set_invoked_as`) so the tools'
error lines and `--help` name `jaxproxy train`, and name `python -m jaxproxy.main` when run so.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

# Set by `jaxproxy.cli.dispatch`: ("jaxproxy-data merge", ("merge",)), the name and the leading
# arguments it puts before the user's (a subcommand named there is part of the name already).
_invoked: tuple[str, tuple[str, ...]] | None = None


def set_invoked_as(name: str, lead: tuple[str, ...] = ()) -> None:
    """Records the command the user typed (`jaxproxy train`) for the tool it runs."""
    global _invoked
    _invoked = (name, tuple(lead))


def invoked_as(module: str, sub: str = "") -> str:
    """The command as the user typed it: `jaxproxy-data merge`, else `python -m module [sub]`."""
    if _invoked is not None:
        name, lead = _invoked
        return name if not sub or sub in lead else f"{name} {sub}"
    base = f"python -m {module.removesuffix('.__main__')}"
    return f"{base} {sub}" if sub else base


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line (`prog: error: ...`), not the usage block too.

    Give it `prog=invoked_as(module)`: argparse's default would be the file name, `main.py`.
    """

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def out_dir_problem(path: str | os.PathLike, flag: str = "--out") -> str | None:
    """Why `path` cannot be (or become) an output folder, or None."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        return f"{flag} {out}: is a file, not a folder"
    return _creatable(out, out, flag, "folder")


def out_file_problem(path: str | os.PathLike, flag: str = "--out") -> str | None:
    """Why `path` cannot be (or become) an output file (written whole or not at all), or None."""
    out = Path(path)
    if out.is_dir():
        return f"{flag} {out}: is a folder, not a file"
    return _creatable(out, out.parent, flag, "file")


def in_dir_problem(path: str | os.PathLike, flag: str, what: str = "folder") -> str | None:
    """Why `path` is not an existing folder to read (`what` names its kind), or None."""
    folder = Path(path)
    if not folder.exists():
        return f"{flag} {folder}: no such {what}"
    if not folder.is_dir():
        return f"{flag} {folder}: is a file, not a {what}"
    return None


def _creatable(out: Path, folder: Path, flag: str, kind: str) -> str | None:
    """Why `out` cannot be made in `folder` (created with its parents if needed), or None."""
    existing = folder
    while not existing.exists():
        if existing.is_symlink():
            return f"{flag} {out}: {existing} is a broken link"
        existing = existing.parent
    if not existing.is_dir():
        return f"{flag} {out}: {existing} is a file, so no {kind} can be made under it"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{flag} {out}: {existing} is not writable"
    return None


def in_file_problem(path: str | os.PathLike, flag: str, what: str = "file") -> str | None:
    """Why `path` is not an existing file to read (`what` names its kind), or None."""
    file = Path(path)
    if file.is_dir():
        return f"{flag} {file}: is a folder, not a {what}"
    if not file.is_file():
        return f"{flag} {file}: no such {what}"
    return None


def first_problem(parser: argparse.ArgumentParser, *problems: str | None) -> None:
    """Exit through `parser.error` with the first problem given (None: no problem)."""
    for problem in problems:
        if problem:
            parser.error(problem)


def at_least(low: int) -> Callable[[str], int]:
    """argparse `type=`: a whole number >= `low` (argparse names the flag in its error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {text!r}")
        return value

    return parse


@contextlib.contextmanager
def about(
    argument: str, errors: tuple[type[BaseException], ...] = (ValueError, OSError)
) -> Iterator[None]:
    """Errors inside come from what `argument` gave (a file's content, a name): raised again as
    ValueError("ARGUMENT: ..."), so the one error line names the argument as well as the file
    (a ValueError subclass such as a dataset mismatch keeps its type when it can)."""
    try:
        yield
    except errors as e:
        message = f"{argument}: {e}"
        renamed = ValueError(message)
        if isinstance(e, ValueError):
            with contextlib.suppress(TypeError):  # e.g. UnicodeDecodeError's five arguments
                renamed = type(e)(message)
        raise renamed from e


def fail(prog: str, error: BaseException | str, code: int = 2) -> int:
    """Print `prog: error: <one line>` to stderr; return `code` for `main` to exit with."""
    text = " ".join(str(error).split()) or type(error).__name__
    print(f"{prog}: error: {text}", file=sys.stderr)
    return code
