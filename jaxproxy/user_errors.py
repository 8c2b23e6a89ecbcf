"""Expected user errors end a command with one line and a non-zero exit; `--verbose` shows the
traceback, and anything else (a bug) still raises with its traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from absl import app, flags

# Bad data, configs, paths and flags raise these with a message naming the file/field/flag.
# (A non-finite loss is a FloatingPointError whose message says what to try.)
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, FloatingPointError)
VERBOSE_FLAG = "--verbose"

flags.DEFINE_bool("verbose", False, "on an error, show the whole traceback, not one line")


def one_line(error: BaseException) -> str:
    """The message of `error` on one line (config errors arrive as repr'd multi-line strings)."""
    text = str(error).replace("\\n", " ").replace("\n", " ").strip().strip("'\"")
    return " ".join(text.replace("\\'", "'").split()) or type(error).__name__


def _fail(prog: str, error: BaseException, code: int) -> None:
    print(f"{prog}: error: {one_line(error)} ({VERBOSE_FLAG} shows the traceback)", file=sys.stderr)
    sys.exit(code)


def _parse_flags(argv: Sequence[str]) -> list[str]:
    """absl's flag parsing, with a bad flag or config override as one line (exit 2)."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        _fail(os.path.basename(argv[0]), e, 2)
    except (AttributeError, KeyError, TypeError, ValueError, OSError) as e:
        # ml_collections reports an unknown override field as AttributeError ("Did you mean").
        if VERBOSE_FLAG in argv:
            raise
        _fail(os.path.basename(argv[0]), e, 2)
    raise AssertionError("unreachable")


def run(main: Callable[[list[str]], None]) -> None:
    """`absl.app.run(main)` with user errors (flags and USER_ERRORS from `main`) on one line."""

    def guarded(argv: list[str]) -> None:
        try:
            main(argv)
        except USER_ERRORS as e:
            if flags.FLAGS.verbose:
                raise
            _fail(os.path.basename(argv[0]), e, 1)

    app.run(guarded, flags_parser=_parse_flags)
