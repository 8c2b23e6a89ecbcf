"""Command-line entry point, intentionally kept short: parse flags, dispatch to a trainer.

python -m jaxproxy.main --config=configs/proxy.py:synth=dx7,encoder=tfm --workdir=runs/dx7_tfm
"""

from absl import app, flags
from ml_collections import config_flags

from jaxproxy.logs import setup_cli_logging
from jaxproxy.trainers import proxy

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Run folder: checkpoints, TensorBoard logs, resolved config.")
config_flags.DEFINE_config_file("config", None, "A configs/*.py file with its argument.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    setup_cli_logging()
    proxy.train_and_evaluate(FLAGS.config, FLAGS.workdir)


if __name__ == "__main__":
    app.run(main)
