"""End-to-end generation rate (render + embed + write) against the bare render-bound rate.

Usage: `python -m benchmarks.generate [--synths minisub] [--n 400] [--workers 2] [--repeats 2]
[--audio-models null,mel128] [--formats tfrecord,array_record]`.

One warmed-up `RenderPool` serves both measurements, alternated `--repeats` times over the same
examples (same seed and indices): "render-bound" drains `render_examples` and drops the audio
(the limit generation can reach), "end-to-end" runs `data_gen.dataset.synthetic.generate` into a
fresh folder (embedding in this process, writing in its thread). `ratio` = end-to-end / render-bound
(target >= 0.85). Wall-clock rates move with machine load; compare ratios within one run. CPU
columns: render workers' CPU per example (from /proc), and this process's CPU per example in
each mode; the end-to-end extra is the audio model, batching, encoding and writing, which compete
with the workers for cores. The `null` audio model costs nothing, so its row isolates the
pipeline's own overhead; with a real model on a CPU-only machine the bound is cores / (worker +
parent CPU per example), not the render-bound rate.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import statistics
import tempfile
import time

import numpy as np

from benchmarks.render import _cpu_seconds
from data_gen.audio import get_audio_model
from data_gen.dataset.options import Part, WriterOptions
from data_gen.dataset.production import share_cores_with_workers
from data_gen.dataset.synthetic import generate
from data_gen.render import RenderPool, RenderSettings
from data_gen.synths.dx7 import DX7_ALGORITHM_PARAM
from data_gen.synths.registry import get_spec


def _spec(name: str):
    """The registered spec; dx7 pinned to algorithm 1 (one compile per worker, not 32)."""
    spec = get_spec(name)
    if spec.engine != "faust_dx7":
        return spec
    params = tuple(
        dataclasses.replace(p, weights=(1.0,) + (0.0,) * (p.cardinality - 1))
        if p.name == DX7_ALGORITHM_PARAM
        else p
        for p in spec.params
    )
    return dataclasses.replace(spec, params=params)


class NullModel:
    """A free audio model (8 evenly spaced samples): isolates the pipeline's own overhead."""

    name, sample_rate, embedding_dim, version = "null", 44100, 8, "0"

    def embed(self, audio_BxN: np.ndarray) -> np.ndarray:
        step = audio_BxN.shape[1] // self.embedding_dim
        return np.ascontiguousarray(audio_BxN[:, ::step][:, : self.embedding_dim])


def bench(name: str, n: int, workers: int, repeats: int, model_name: str, formats) -> str:
    spec = _spec(name)
    if model_name == "null":
        model = NullModel()
    else:
        model = get_audio_model(model_name, "random" if model_name.startswith("mn") else None)
    settings = RenderSettings(sample_rate=model.sample_rate)
    seed = 11
    runs: dict[str, list[tuple[float, float, float]]] = {"bare": [], "e2e": []}
    with RenderPool(spec, settings, num_workers=workers, timeout_s=600) as pool:
        for _ in pool.render_examples(range(n, n + 4 * workers), seed):  # warm-up / compile
            pass
        pids = pool.worker_pids

        @contextlib.contextmanager
        def shared_pool(*_args):
            yield pool  # generate() must not close the warmed-up pool

        def measure(kind: str, fn) -> None:
            """(examples/s, parent CPU s/ex, worker CPU s/ex) of one run."""
            workers_cpu = sum(_cpu_seconds(p) for p in pids)
            start, cpu = time.perf_counter(), time.process_time()
            fn()
            rate = n / (time.perf_counter() - start)
            parent = (time.process_time() - cpu) / n
            runs[kind].append(
                (rate, parent, (sum(_cpu_seconds(p) for p in pids) - workers_cpu) / n)
            )

        def end_to_end() -> None:
            with tempfile.TemporaryDirectory() as out:
                options = WriterOptions(
                    formats=formats, shard_size=max(n // 4, 1), workers=workers,
                    pool_factory=shared_pool, progress=False,
                )  # fmt: skip
                meta = generate(out, spec, settings, model, Part("bench", n, seed), options)
                assert meta["complete"] and meta["num_examples"] == n

        for _ in range(repeats):
            measure("bare", lambda: sum(1 for _ in pool.render_examples(range(n), seed)))
            measure("e2e", end_to_end)
    (b, b_parent, b_work), (e, e_parent, e_work) = (
        tuple(statistics.median(col) for col in zip(*runs[k], strict=True)) for k in ("bare", "e2e")
    )
    return (
        f"| {name} | {model_name} | {workers} | {n} | {b:.1f} | {e:.1f} | {e / b:.2f} "
        f"| {1e3 * b_work:.1f} | {1e3 * b_parent:.1f} / {1e3 * e_parent:.1f} |"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--synths", default="minisub")
    p.add_argument("--n", type=int, default=400, help="examples per measurement")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--audio-models", default="null,mel128", help="'null': a free stand-in")
    p.add_argument("--formats", default="tfrecord,array_record")
    args = p.parse_args()
    formats = args.formats.split(",")
    print(f"Generation benchmark; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}\n")
    print(
        "| synth | audio model | workers | examples | render-bound ex/s | end-to-end ex/s | ratio "
        "| worker CPU ms/ex | parent CPU ms/ex (render-bound / end-to-end) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    share_cores_with_workers(args.workers)
    for name in args.synths.split(","):
        for model in args.audio_models.split(","):
            print(bench(name, args.n, args.workers, args.repeats, model, formats), flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
