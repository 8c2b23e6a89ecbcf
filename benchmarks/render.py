"""Render throughput: bare in-process loop vs RenderPool with 1..k workers, as a markdown table.

Usage: `python -m benchmarks.render [--synths minisub,amsynth,dx7] [--n 200] [--workers 1,2]`.
The same random presets (seed 0, dx7 pinned to algorithm 1 so one compile serves all) go
through a bare loop of `render_preset(make_renderer(spec), ...)` and through
`RenderPool.render_presets` with audio shipped back. `ratio` = pool renders/s / (workers x bare
renders/s): 1.0 means no overhead and linear scaling. Wall-clock figures move with machine load
(printed), so the CPU columns (parent + worker CPU seconds per render, read from /proc) give the
pool's overhead even on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from data_gen.render import RenderPool, RenderSettings, make_renderer, render_preset
from data_gen.synths.dx7 import DX7_ALGORITHM_PARAM
from data_gen.synths.registry import get_spec
from data_gen.synths.sampling import PresetSampler
from data_gen.synths.spec import SynthSpec


def _presets(spec: SynthSpec, n: int) -> np.ndarray:
    presets_NxP = PresetSampler(spec, seed=0).sample_batch(np.arange(n))
    if spec.engine == "faust_dx7":
        presets_NxP[:, spec.used_position(DX7_ALGORITHM_PARAM)] = 0  # algorithm 1 only
    return presets_NxP


def _unavailable(spec: SynthSpec) -> str | None:
    if spec.engine == "vst" and not Path(spec.source).expanduser().exists():
        return f"plug-in {spec.source} not installed"
    return None


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process and its finished children (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """This process's CPU seconds, with its finished children (the per-note forks)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def bench_synth(name: str, n: int, workers: list[int], settings: RenderSettings) -> list[str]:
    """One table row per configuration: bare loop first, then the pools."""
    spec = get_spec(name)
    why = _unavailable(spec)
    if why:
        return [f"| {name} | skipped: {why} | | | | | |"]
    presets_NxP = _presets(spec, n)

    start = time.perf_counter()
    renderer = make_renderer(spec, settings)
    renderer.render_one(presets_NxP[0])  # dx7 compiles its algorithm here
    load_s = time.perf_counter() - start
    start, cpu = time.perf_counter(), _own_cpu_seconds()
    for i, preset_P in enumerate(presets_NxP):  # the same per-item work a worker does
        render_preset(renderer, i, preset_P)
    bare = n / (time.perf_counter() - start)
    bare_cpu = (_own_cpu_seconds() - cpu) / n
    renderer.close()
    rows = [f"| {name} | bare loop | {load_s:.2f} | {bare:.1f} | {1e3 * bare_cpu:.1f} | | |"]

    for k in workers:
        start = time.perf_counter()
        with RenderPool(spec, settings, num_workers=k, timeout_s=600) as pool:
            # Warm-up: enough chunks that every worker gets one (and compiles dx7 algorithm 1).
            for _ in pool.render_presets(presets_NxP[: 4 * k * pool.chunk_size]):
                pass
            ready_s = time.perf_counter() - start
            pids = pool.worker_pids
            before = sum(_cpu_seconds(p) for p in pids)
            start, cpu = time.perf_counter(), time.process_time()
            count = sum(1 for r in pool.render_presets(presets_NxP) if r.audio is not None)
            rate = n / (time.perf_counter() - start)
            parent_cpu = time.process_time() - cpu
            pool_cpu = (sum(_cpu_seconds(p) for p in pids) - before + parent_cpu) / n
        assert count == n, f"{name}: {n - count} renders failed"
        rows.append(
            f"| {name} | pool, {k} worker{'s' * (k > 1)} | {ready_s:.2f} | {rate:.1f} "
            f"| {1e3 * pool_cpu:.1f} | {rate / (k * bare):.2f} | {pool_cpu / bare_cpu:.2f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synths", default="minisub,amsynth,dx7")
    parser.add_argument("--n", type=int, default=200, help="renders per configuration")
    parser.add_argument("--workers", default="1,2", help="pool sizes, comma-separated")
    args = parser.parse_args()
    settings = RenderSettings()
    workers = [int(w) for w in args.workers.split(",")]
    print(
        f"Render benchmark: {args.n} renders of {settings.render_duration} s at "
        f"{settings.sample_rate} Hz per configuration; {os.cpu_count()} CPUs; "
        f"load average before: {_load()}\n"
    )
    print(
        "| synth | how | compile/load or pool start (s) | renders/s | CPU ms/render "
        "| ratio pool/(workers x bare) | CPU ratio pool/bare |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in args.synths.split(","):
        for row in bench_synth(name.strip(), args.n, workers, settings):
            print(row, flush=True)
    print(f"\nload average after: {_load()}")


if __name__ == "__main__":
    main()
