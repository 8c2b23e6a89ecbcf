"""Command-line entry point, intentionally kept short: parse flags, dispatch to a trainer.

Expected errors (bad data, config, paths, flags) print one line and exit non-zero; add
--verbose for the traceback.

python -m jaxproxy.main --config=proxy:synth=dx7,encoder=tfm --workdir=runs/dx7_tfm
jaxproxy train --config=proxy:synth=dx7,encoder=tfm --workdir=runs/dx7_tfm
python -m jaxproxy.main --config=estimator:synth=dx7,schedule=switch --workdir=runs/dx7_ssm
"""

from absl import app, flags

from jaxproxy.configs import define_config_flag
from jaxproxy.logs import setup_cli_logging
from jaxproxy.trainers import estimator, proxy, proxy_finetune
from jaxproxy.user_errors import run

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Run folder: checkpoints, TensorBoard logs, resolved config.")
define_config_flag("config")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    setup_cli_logging()
    trainers = {"proxy": proxy, "estimator": estimator, "proxy_finetune": proxy_finetune}
    name = FLAGS.config.get("trainer", "proxy")
    if name not in trainers:
        raise ValueError(f"--config.trainer={name!r}: must be one of {', '.join(trainers)}")
    trainers[name].train_and_evaluate(FLAGS.config, FLAGS.workdir)


if __name__ == "__main__":
    run(main)
