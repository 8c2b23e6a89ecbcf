"""End to end on the embedded synth: generate data, train a proxy, export it, evaluate it.

python -m experiments.quickstart --workdir=runs/quickstart

Each stage runs in its own process (data_gen is PyTorch + DawDreamer, jaxproxy is JAX; they meet
only through the dataset on disk) and each is resumable: rerunning the command after an
interruption continues generation and training where they stopped, and skips finished stages.
Results land in `<workdir>/results.md` and `<workdir>/eval.json`. Every knob is checked against
the training config (sizes vs batch and `val_num_ranks`, epochs vs the schedule) before anything
is rendered. Run it from the repository root (`experiments/` is not installed with the package).
"""

import argparse
import json
import os
import sys

from experiments.common import stages


def _train_overrides(parser: argparse.ArgumentParser, args: argparse.Namespace, config_arg: str):
    """The fields the train stage sets (`--config.FIELD=VALUE`), after checking every knob.

    Any knob that would stop a later stage (too few examples for a batch or for the validation
    MRR, epochs too short for the schedule's phases, unknown names) ends here with the parser's
    one-line error, before anything is rendered.
    """
    from jaxproxy.configs import quickstart

    for flag in ("train_size", "val_size", "test_size", "workers", "epochs"):
        if getattr(args, flag) < (2 if flag == "test_size" else 1):
            parser.error(f"--{flag.replace('_', '-')} is too small: {getattr(args, flag)}")
    data = os.path.join(args.workdir, "data")
    try:
        batch_size = quickstart.get_config(config_arg).batch_size
        overrides = {
            "train_data": os.path.join(data, "train"),
            "val_data": os.path.join(data, "val"),
            "num_epochs": args.epochs,
            # The paper's schedule shape over this run's length.
            **stages.scaled_schedule(args.train_size, batch_size, args.epochs),
        }
        stages.check_train_config(
            f"quickstart:{config_arg}", overrides, args.train_size, args.val_size
        )
    except ValueError as e:
        parser.error(f"{e} (set by --train-size, --val-size, --epochs, --encoder, --synth)")
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--workdir", type=stages.portable_path, default="runs/quickstart", help="run folder"
    )
    parser.add_argument("--synth", default="minisub", help="synth name")
    parser.add_argument("--audio-model", default="mel128", help="audio model name")
    parser.add_argument("--encoder", default="hn_oh", help="preset encoder")
    parser.add_argument("--train-size", type=int, default=16_384, help="training examples")
    parser.add_argument("--val-size", type=int, default=4_096, help="validation examples")
    parser.add_argument("--test-size", type=int, default=4_096, help="test examples")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="render workers")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs")
    args = parser.parse_args()
    config_arg = f"synth={args.synth},encoder={args.encoder},audio_model={args.audio_model}"

    data = os.path.join(args.workdir, "data")
    train_dir = os.path.join(args.workdir, "train")
    export_dir = os.path.join(args.workdir, "export")
    overrides = _train_overrides(parser, args, config_arg)
    eval_json = os.path.join(args.workdir, "eval.json")
    run = stages.Stages(args.workdir, "quickstart")
    splits = {"train": (args.train_size, 1500), "val": (args.val_size, 1401)}
    splits["test"] = (args.test_size, 1600)
    try:
        for split, (size, seed) in splits.items():
            run.run(
                f"generate {split}",
                stages.generate_args(
                    synth=args.synth, audio_model=args.audio_model, split=split, size=size,
                    seed=seed, out=os.path.join(data, split), workers=args.workers, progress=True,
                ),
            )  # fmt: skip
        run.run(
            "train",
            stages.train_args(
                config=f"quickstart:{config_arg}", workdir=train_dir, overrides=overrides
            ),
        )
        run.run("export", stages.export_args(workdir=train_dir, out=export_dir))
        run.run(
            "evaluate",
            stages.evaluate_args(
                proxy=export_dir, data=os.path.join(data, "test"), out=eval_json, runs=10,
                subset_size=2048,
            ),
        )  # fmt: skip
    except stages.StageError as e:
        sys.exit(str(e))
    timings = {name: rec["seconds"] for name, rec in run.record.items()}
    with open(eval_json) as f:
        metrics = json.load(f)["metrics"]
    lines = [
        f"# Quick start: {args.synth} x {args.audio_model}, {args.encoder}",
        "",
        f"Command: `{stages.command_line('experiments.quickstart', sys.argv[1:])}`",
        f"Data: {args.train_size} train / {args.val_size} val / {args.test_size} test examples.",
        "",
        "| test metric (10 subsets of 2048) | mean | std |",
        "|---|---|---|",
        *(
            f"| {n} | {metrics[n]['mean']:.4f} | {metrics[n]['std']:.4f} |"
            for n in ("mrr", "l1", "top1_mrr", "avg_recall@1", "avg_recall@10")
        ),
        "",
        "| stage | seconds |",
        "|---|---|",
        *(f"| {stage} | {sec:.0f} |" for stage, sec in timings.items()),
    ]
    with open(os.path.join(args.workdir, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
