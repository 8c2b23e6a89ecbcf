"""Log set-up shared by the command-line entry points (INFO for us, warnings only from orbax),
and progress lines for long loops."""

import logging as std_logging
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from absl import logging

T = TypeVar("T")


class _QuietOrbax(std_logging.Filter):
    """Orbax logs every save and restore step at INFO; keep its warnings and errors only."""

    def filter(self, record: std_logging.LogRecord) -> bool:
        return record.levelno >= std_logging.WARNING or "orbax" not in record.pathname


def setup_cli_logging() -> None:
    """INFO-level absl logging with orbax's step-by-step INFO records filtered out."""
    logging.set_verbosity(logging.INFO)
    logging.get_absl_handler().addFilter(_QuietOrbax())


def logged_progress(
    items: Iterable[T], total: int, what: str, every_s: float = 10.0
) -> Iterator[T]:
    """Yields `items`, logging "what k/total, elapsed, ETA" at most every `every_s` seconds."""
    start = last = time.perf_counter()
    for done, item in enumerate(items, start=1):
        yield item
        now = time.perf_counter()
        if now - last >= every_s or done == total:
            last = now
            eta = (now - start) / done * (total - done)
            logging.info("%s %d/%d  %.0fs elapsed, ETA %.0fs", what, done, total, now - start, eta)
