"""Proxy train-step throughput: this project's jitted step vs the same model in plain PyTorch.

    .venv/bin/python -m benchmarks.train_step                      # every encoder, paper bs & 64
    .venv/bin/python -m benchmarks.train_step --encoders=tfm --batches=64 --steps=3 --repeats=2

For each encoder (Dexed layout, D = 192) and batch size (the paper's: 512, TFM 256; and 64),
one fresh process per measurement times a full training step (forward, L1 loss, backward,
AdamW with the paper's settings): PyTorch eager, then the JAX step with each
`--steps_per_call` (several steps per jit call via lax.scan) and each `--xla_flags` variant.
Both frameworks are pinned to the same cores (`--cores`, all by default; torch gets one thread per
core, XLA's thread pool sees only those cores), and the figure is the median over `--repeats`
alternating rounds. Prints samples/s and the JAX/PyTorch ratio, then the input pipeline's examples/s
(benchmarks.input_pipeline) against the fastest step's consumption. Compare ratios within one
run: the machine may be shared (`uptime` is printed before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

from benchmarks import step_setup

ENCODERS = ("mlp_oh", "hn_oh", "hn_pt", "hn_ptgru", "tfm")
_RESULT = "RESULT "


def _parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoders", default=",".join(ENCODERS))
    parser.add_argument("--batches", default="paper,64", help="'paper' = 512 (TFM 256)")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps after the first")
    parser.add_argument("--steps_per_call", default="1,4", help="JAX variants, comma-separated")
    parser.add_argument(
        "--xla_flags", default="", help="extra JAX variants: XLA_FLAGS strings separated by ';'"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="rounds of (torch, jax variants), alternating; the median of each is kept",
    )
    parser.add_argument(
        "--cores", default="", help="CPU cores for both frameworks, e.g. '0' or '0,1' (all)"
    )
    parser.add_argument("--synth", default="dexed")
    parser.add_argument("--pipeline", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _time_calls(run_call, calls: int, warmup: int) -> tuple[float, float]:
    """(first call seconds, median seconds per later call)."""
    start = time.perf_counter()
    run_call()
    first = time.perf_counter() - start
    for _ in range(warmup):
        run_call()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        run_call()
        times.append(time.perf_counter() - start)
    return first, float(np.median(times))


def torch_worker(encoder: str, batch: int, steps: int, warmup: int, synth: str) -> dict:
    import torch

    from benchmarks.torch_encoders import build_torch_encoder

    torch.set_num_threads(len(os.sched_getaffinity(0)))  # one thread per pinned core
    torch.manual_seed(0)
    layout, config = step_setup.layout_for(synth), step_setup.config_for(encoder, synth)
    model = build_torch_encoder(encoder, layout, step_setup.OUT_DIM).train()
    opt = torch.optim.AdamW(
        model.parameters(),
        lr=config.lr,
        betas=(config.b1, config.b2),
        eps=config.eps,
        weight_decay=0.0,
    )
    data = [
        (torch.from_numpy(p), torch.from_numpy(t))
        for p, t in step_setup.random_batches(layout, batch, 2)
    ]
    counter = [0]

    def run_call():
        presets, targets = data[counter[0] % 2]
        counter[0] += 1
        opt.zero_grad(set_to_none=True)
        loss = (model(presets) - targets).abs().mean()
        loss.backward()
        opt.step()
        return loss.item()

    first, per_call = _time_calls(run_call, steps, warmup)
    return {"first_s": first, "step_s": per_call, "samples_per_s": batch / per_call}


def jax_worker(encoder: str, batch: int, steps: int, warmup: int, synth: str, k: int) -> dict:
    setup = step_setup.build_step(encoder, synth=synth, steps_per_call=k)
    step, state = setup.step, setup.state
    calls = step_setup.placed_calls(setup, batch, 2)
    holder = {"state": state, "n": 0}

    def run_call():
        holder["state"], metrics = step(holder["state"], calls[holder["n"] % 2])
        holder["n"] += 1
        return float(metrics["loss"])  # fetching the loss also waits for the step

    # With k > 1 the first call already ran k steps after compiling: no separate warm-up.
    first, per_call = _time_calls(run_call, max(1, steps // k), warmup if k == 1 else 0)
    return {"first_s": first, "step_s": per_call / k, "samples_per_s": batch * k / per_call}


def _run_worker(spec: dict, xla_flags: str = "", cores: set[int] | None = None) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = xla_flags
    env.setdefault("JAX_PLATFORMS", "cpu")
    cmd = [sys.executable, "-m", "benchmarks.train_step", "--worker", json.dumps(spec)]
    pin = (lambda: os.sched_setaffinity(0, cores)) if cores else None  # inherited by threads
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, preexec_fn=pin)
    for line in proc.stdout.splitlines():
        if line.startswith(_RESULT):
            return json.loads(line[len(_RESULT) :])
    return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}


def _median(results: list[dict], key: str = "samples_per_s") -> dict:
    """The run with the median `key` (the lower middle one; an error if every run failed)."""
    ok = sorted((r for r in results if "error" not in r), key=lambda r: r[key])
    return ok[(len(ok) - 1) // 2] if ok else results[-1]


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _pipeline_rates(batch: int) -> dict[str, float]:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.input_pipeline",
        "--num_examples=40000",
        f"--batch={batch}",
        "--max_batches=60",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, XLA_FLAGS=""))
    rates = {}
    for line in proc.stdout.splitlines():
        match = re.match(r"^(.+?)\s+([\d,]+)\s+[\d.]+$", line)
        if match:
            rates[match.group(1).strip()] = float(match.group(2).replace(",", ""))
    if not rates:
        print("input pipeline benchmark failed:", proc.stderr.strip().splitlines()[-1:])
    return rates


def main(argv=None) -> None:
    args = _parse(argv)
    if args.worker:
        spec = json.loads(args.worker)
        framework = spec.pop("framework")
        result = torch_worker(**spec) if framework == "torch" else jax_worker(**spec)
        print(_RESULT + json.dumps(result), flush=True)
        return
    cores = {int(c) for c in args.cores.split(",")} if args.cores else None
    print("load before:", _uptime(), "| cores:", sorted(cores or os.sched_getaffinity(0)))
    variants = [(f"jax k={k}", int(k), "") for k in args.steps_per_call.split(",")]
    for i, flags in enumerate(filter(None, args.xla_flags.split(";"))):
        variants.append((f"jax k=1 flags#{i}", 1, flags))
        print(f"flags#{i}: {flags}")
    header = f"{'encoder':<9} {'batch':>5} {'torch':>9} " + " ".join(
        f"{name:>14}" for name, _, _ in variants
    )
    print(f"samples/s (JAX/PyTorch ratio in brackets); {args.steps} timed steps\n{header}")
    best_rate = 0.0
    for encoder in args.encoders.split(","):
        for b in args.batches.split(","):
            batch = (256 if encoder == "tfm" else 512) if b == "paper" else int(b)
            common = dict(
                encoder=encoder, batch=batch, steps=args.steps, warmup=args.warmup, synth=args.synth
            )
            # Alternate rounds so both frameworks see the same load; keep the median of each.
            torch_runs, jax_runs = [], [[] for _ in variants]
            for _ in range(args.repeats):
                torch_runs.append(_run_worker(dict(common, framework="torch"), cores=cores))
                for i, (_, k, flags) in enumerate(variants):
                    spec = dict(common, framework="jax", k=k)
                    jax_runs[i].append(_run_worker(spec, flags, cores))
            torch_res, jax_res = _median(torch_runs), [_median(runs) for runs in jax_runs]
            cells = []
            for res in jax_res:
                if "error" in res or "error" in torch_res:
                    cells.append(f"{'error':>14}")
                    print(" ", res.get("error") or torch_res.get("error"))
                    continue
                best_rate = max(best_rate, res["samples_per_s"])
                ratio = res["samples_per_s"] / torch_res["samples_per_s"]
                cells.append(f"{res['samples_per_s']:>8.0f} ({ratio:.2f})")
            torch_cell = f"{torch_res.get('samples_per_s', float('nan')):>9.0f}"
            print(f"{encoder:<9} {batch:>5} {torch_cell} " + " ".join(cells), flush=True)
    print("load after:", _uptime())
    if args.pipeline and best_rate > 0:
        print(f"\ninput pipeline (batch 512) vs the fastest step ({best_rate:,.0f} samples/s):")
        for mode, rate in _pipeline_rates(512).items():
            print(f"  {mode:<28} {rate:>12,.0f} examples/s  = {rate / best_rate:6.1f}x the step")


if __name__ == "__main__":
    main()
