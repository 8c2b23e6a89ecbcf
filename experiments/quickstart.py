"""End to end on the embedded synth: generate data, train a proxy, export it, evaluate it.

python -m experiments.quickstart --workdir=runs/quickstart

Each stage runs in its own process (data_gen is PyTorch + DawDreamer, jaxproxy is JAX; they meet
only through the dataset on disk) and each is resumable: rerunning the command after an
interruption continues generation and training where they stopped, and skips finished stages.
Results land in `<workdir>/results.md` and `<workdir>/eval.json`.
"""

import argparse
import json
import os
import subprocess
import sys
import time


def _run(stage: str, args: list[str]) -> float:
    """Runs one stage as `python -m ...`, stopping the quick start with its exit code on failure."""
    print(f"\n=== {stage}: {' '.join(args)}", flush=True)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", *args], check=False)
    if done.returncode != 0:
        sys.exit(f"quickstart: stage '{stage}' failed with exit code {done.returncode}")
    return time.perf_counter() - start


def _complete(dataset_dir: str) -> bool:
    try:
        with open(os.path.join(dataset_dir, "metadata.json")) as f:
            return bool(json.load(f).get("complete"))
    except FileNotFoundError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="runs/quickstart")
    parser.add_argument("--synth", default="minisub")
    parser.add_argument("--audio-model", default="mel128")
    parser.add_argument("--encoder", default="hn_oh")
    parser.add_argument("--train-size", type=int, default=16_384)
    parser.add_argument("--val-size", type=int, default=4_096)
    parser.add_argument("--test-size", type=int, default=4_096)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()

    data = os.path.join(args.workdir, "data")
    train_dir = os.path.join(args.workdir, "train")
    export_dir = os.path.join(args.workdir, "export")
    timings = {}
    splits = {"train": (args.train_size, 1500), "val": (args.val_size, 1401)}
    splits["test"] = (args.test_size, 1600)
    for split, (size, seed) in splits.items():
        out = os.path.join(data, split)
        if _complete(out):
            print(f"=== generate {split}: {out} is complete, skipped")
            continue
        timings[f"generate {split}"] = _run(
            f"generate {split}",
            ["data_gen.generate", f"--synth={args.synth}", f"--audio-model={args.audio_model}",
             f"--split={split}", f"--size={size}", f"--seed={seed}", f"--out={out}",
             "--formats=tfrecord,array_record", f"--workers={args.workers}"],
        )  # fmt: skip
    timings["train"] = _run(
        "train",
        ["jaxproxy.main", f"--config=configs/quickstart.py:{args.encoder}",
         f"--workdir={train_dir}", f"--config.train_data={os.path.join(data, 'train')}",
         f"--config.val_data={os.path.join(data, 'val')}", f"--config.synth={args.synth}",
         f"--config.audio_model={args.audio_model}", f"--config.num_epochs={args.epochs}",
         # The paper's schedule shape over this run's length: constant for half an epoch,
         # cosine to a third of the run, full restart, cosine to the end.
         f"--config.schedule.constant_steps={max(1, args.train_size // 256 // 2)}",
         f"--config.schedule.decay_end_epoch={args.epochs / 3}",
         f"--config.schedule.restart_end_epoch={args.epochs}"],
    )  # fmt: skip
    timings["export"] = _run(
        "export",
        ["jaxproxy.export", f"--workdir={train_dir}", f"--out={export_dir}",
         "--checkpoint=best_mrr"],
    )  # fmt: skip
    eval_json = os.path.join(args.workdir, "eval.json")
    timings["evaluate"] = _run(
        "evaluate",
        ["jaxproxy.evaluate", f"--proxy={export_dir}", f"--data={os.path.join(data, 'test')}",
         f"--out={eval_json}", "--runs=10", "--subset_size=2048"],
    )  # fmt: skip
    with open(eval_json) as f:
        metrics = json.load(f)["metrics"]
    lines = [
        f"# Quick start: {args.synth} x {args.audio_model}, {args.encoder}",
        "",
        f"Command: `python -m experiments.quickstart --workdir={args.workdir}`",
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
