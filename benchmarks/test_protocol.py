"""The paper's test protocol (100 runs of 4,096 x 4,096 L1 rankings, 192-d): wall and CPU seconds.

    .venv/bin/python -m benchmarks.test_protocol                 # the library's settings
    .venv/bin/python -m benchmarks.test_protocol --chunks=128,256 --dims_per_step=8,16 --repeats=3

Random embeddings (16,384 examples, seed 0), `evaluate.test_protocol(p, a, runs=100)` timed after
one warm-up call (which compiles). Each variant of `metrics._CHUNK` / `metrics._DIMS_PER_STEP`
runs in a fresh process, variants alternating over `--repeats` rounds; the median of each is
printed, with the MRR so that variants can be seen to agree. Compare within one run: the
machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

from benchmarks.train_step import _median

_RESULT = "RESULT "


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker(chunk: int, dims_per_step: int, runs: int, examples: int, dim: int) -> dict:
    from jaxproxy import evaluate, metrics

    if chunk:
        metrics._CHUNK = chunk
    if dims_per_step:
        metrics._DIMS_PER_STEP = dims_per_step
    rng = np.random.default_rng(0)
    audio = rng.normal(size=(examples, dim)).astype(np.float32)
    presets = (audio + 1.5 * rng.normal(size=audio.shape)).astype(np.float32)
    evaluate.test_protocol(presets, audio, runs=runs)  # compiles
    wall, cpu = time.perf_counter(), _cpu_seconds()
    out = evaluate.test_protocol(presets, audio, runs=runs)
    return {
        "wall_s": time.perf_counter() - wall,
        "cpu_s": _cpu_seconds() - cpu,
        "mrr": out["mrr"]["mean"],
        "chunk": metrics._CHUNK,
        "dims_per_step": metrics._DIMS_PER_STEP,
    }


def _run(spec: dict) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.test_protocol", "--worker", json.dumps(spec)]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith(_RESULT):
            return json.loads(line[len(_RESULT) :])
    raise RuntimeError((proc.stderr or proc.stdout).strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", default="0", help="queries per chunk; 0 = the library's")
    parser.add_argument("--dims_per_step", default="0", help="0 = the library's")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--examples", type=int, default=16384)
    parser.add_argument("--dim", type=int, default=192)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(_RESULT + json.dumps(worker(**json.loads(args.worker))), flush=True)
        return
    common = dict(runs=args.runs, examples=args.examples, dim=args.dim)
    variants = [
        dict(common, chunk=int(c), dims_per_step=int(d))
        for c in args.chunks.split(",")
        for d in args.dims_per_step.split(",")
    ]
    print("load before:", os.getloadavg())
    results: list[list[dict]] = [[] for _ in variants]
    for _ in range(args.repeats):  # alternate, so every variant sees the same load
        for i, spec in enumerate(variants):
            results[i].append(_run(spec))
    print(f"{'chunk':>6} {'dims/step':>9} {'wall s':>8} {'CPU s':>8} {'MRR':>10}  (median of runs)")
    for runs in results:
        r = _median(runs, key="wall_s")
        print(
            f"{r['chunk']:>6} {r['dims_per_step']:>9} {r['wall_s']:>8.2f} {r['cpu_s']:>8.2f}"
            f" {r['mrr']:>10.6f}"
        )
    print("load after:", os.getloadavg())


if __name__ == "__main__":
    main()
