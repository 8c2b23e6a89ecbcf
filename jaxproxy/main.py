"""Command-line entry point, intentionally kept short: parse flags, dispatch to a trainer.

python -m jaxproxy.main --config=configs/proxy.py:synth=dx7,encoder=tfm --workdir=runs/dx7_tfm
"""

import logging as std_logging

from absl import app, flags, logging
from ml_collections import config_flags

from jaxproxy.trainers import proxy

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Run folder: checkpoints, TensorBoard logs, resolved config.")
config_flags.DEFINE_config_file("config", None, "A configs/*.py file with its argument.")
flags.mark_flags_as_required(["config", "workdir"])


class _QuietOrbax(std_logging.Filter):
    """Orbax logs every save step at INFO; keep its warnings and errors only."""

    def filter(self, record: std_logging.LogRecord) -> bool:
        return record.levelno >= std_logging.WARNING or "orbax" not in record.pathname


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.INFO)
    logging.get_absl_handler().addFilter(_QuietOrbax())
    proxy.train_and_evaluate(FLAGS.config, FLAGS.workdir)


if __name__ == "__main__":
    app.run(main)
