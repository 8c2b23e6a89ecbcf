"""Expected user errors end a command with one line and a non-zero exit; `--verbose` shows the
traceback, and anything else (a bug) still raises with its traceback.

Exit codes: 2 for bad input (flags, configs, paths, data: refused, nothing written), 1 for a run
that failed on its way (a non-finite loss), 0 for `--help`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from absl import app, flags

from data_gen.cli_support.command_line import invoked_as

# Bad data, configs, paths and flags raise these with a message naming the file/field/flag.
# (A non-finite loss is a FloatingPointError whose message says what to try.)
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, FloatingPointError)
EXIT_BAD_INPUT, EXIT_FAILED = 2, 1
VERBOSE_FLAG = "--verbose"
_HELP_FLAGS = ("--help", "-?", "--helpshort", "--helpfull", "--helpxml")

flags.DEFINE_bool("verbose", False, "on an error, show the whole traceback, not one line")


def one_line(error: BaseException) -> str:
    """The message of `error` on one line (config errors arrive as repr'd multi-line strings)."""
    text = str(error).replace("\\n", " ").replace("\n", " ").strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":  # a repr'd KeyError message
        text = text[1:-1]  # only then: a message may end in a quote of its own (got 'bogus')
    return " ".join(text.replace("\\'", "'").split()) or type(error).__name__


def _prog() -> str:
    """What the user typed (`jaxproxy train`), not `main.py` (runpy's argv[0])."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return invoked_as(spec.name if spec is not None else "jaxproxy.main")


def _fail(error: BaseException, code: int) -> None:
    line = f"{_prog()}: error: {one_line(error)} ({VERBOSE_FLAG} shows the traceback)"
    print(line, file=sys.stderr)
    sys.exit(code)


def _parse_flags(argv: Sequence[str]) -> list[str]:
    """absl's flag parsing, with a bad flag or config override as one line (exit 2)."""
    try:
        return flags.FLAGS(argv)
    except SystemExit as e:  # absl ends --help with exit code 1; help asked for is a success
        if e.code == 1 and any(a.split("=")[0] in _HELP_FLAGS for a in argv[1:]):
            sys.exit(0)
        raise
    except flags.Error as e:
        _fail(e, EXIT_BAD_INPUT)
    except (AttributeError, KeyError, TypeError, ValueError, OSError) as e:
        # ml_collections reports a bad override value as one of these.
        if VERBOSE_FLAG in argv:
            raise
        _fail(e, EXIT_BAD_INPUT)
    raise AssertionError("unreachable")


def run(main: Callable[[list[str]], None]) -> None:
    """`absl.app.run(main)` with user errors (flags and USER_ERRORS from `main`) on one line."""

    def guarded(argv: list[str]) -> None:
        try:
            main(argv)
        except USER_ERRORS as e:
            if flags.FLAGS.verbose:
                raise
            _fail(e, EXIT_FAILED if isinstance(e, FloatingPointError) else EXIT_BAD_INPUT)

    app.run(guarded, flags_parser=_parse_flags)
