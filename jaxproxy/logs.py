"""Log set-up shared by the command-line entry points: INFO for us, warnings only from orbax."""

import logging as std_logging

from absl import logging


class _QuietOrbax(std_logging.Filter):
    """Orbax logs every save and restore step at INFO; keep its warnings and errors only."""

    def filter(self, record: std_logging.LogRecord) -> bool:
        return record.levelno >= std_logging.WARNING or "orbax" not in record.pathname


def setup_cli_logging() -> None:
    """INFO-level absl logging with orbax's step-by-step INFO records filtered out."""
    logging.set_verbosity(logging.INFO)
    logging.get_absl_handler().addFilter(_QuietOrbax())
