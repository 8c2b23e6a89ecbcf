"""End-to-end generation rate (render + embed + write) against the bare render-bound rate.

Usage: `python -m benchmarks.generate [--synths minisub] [--n 400] [--workers 2] [--repeats 2]
[--audio-models null,mel128] [--formats tfrecord,array_record]`.

One warmed-up `RenderPool` serves both measurements, alternated `--repeats` times over the same
examples (same seed and indices): "render-bound" drains `render_examples` and drops the audio
(the limit generation can reach), "end-to-end" runs `data_gen.dataset.generator.generate` into a
fresh folder (embedding in this process, writing in its thread). `ratio` = end-to-end / render-bound
(target >= 0.85). Wall-clock rates move with machine load; compare ratios within one run. The
`parent CPU` column is this process's CPU per example (audio model, encoding, writing), the work
that competes with the render workers for cores. The `null` audio model costs nothing, so its
row isolates the pipeline's own overhead (transfer, batching, encoding, writing); with a real
model on a CPU-only machine, the bound becomes cores / (render + embed CPU per example).
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

from data_gen.audio import get_audio_model
from data_gen.dataset.generator import generate, share_cores_with_workers
from data_gen.render import RenderPool, RenderSettings
from data_gen.synths.dx7 import DX7_ALGORITHM_PARAM
from data_gen.synths.registry import get_spec


def _spec(name: str):
    """The registered spec; dx7 pinned to algorithm 1 (one compile per worker, not 32)."""
    spec = get_spec(name)
    if spec.engine != "faust_dx7":
        return spec
    params = tuple(
        dataclasses.replace(p, used=False, default=p.values[0])
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
    bare, e2e, parent_cpu = [], [], []
    with RenderPool(spec, settings, num_workers=workers, timeout_s=600) as pool:
        for _ in pool.render_examples(range(n, n + 4 * workers), seed):  # warm-up / compile
            pass

        @contextlib.contextmanager
        def shared_pool(*_args):
            yield pool  # generate() must not close the warmed-up pool

        for _ in range(repeats):
            start = time.perf_counter()
            count = sum(1 for _ in pool.render_examples(range(n), seed))
            bare.append(count / (time.perf_counter() - start))
            with tempfile.TemporaryDirectory() as out:
                start, cpu = time.perf_counter(), time.process_time()
                meta = generate(
                    out, spec, settings, model, seed=seed, split="bench", size=n,
                    formats=formats, shard_size=max(n // 4, 1), workers=workers,
                    pool_factory=shared_pool, progress=False,
                )  # fmt: skip
                elapsed = time.perf_counter() - start
                parent_cpu.append((time.process_time() - cpu) / n)
            assert meta["complete"]
            e2e.append(n / elapsed)
    b, e = statistics.median(bare), statistics.median(e2e)
    return (
        f"| {name} | {model_name} | {workers} | {n} | {b:.1f} | {e:.1f} | {e / b:.2f} "
        f"| {1e3 * statistics.median(parent_cpu):.1f} |"
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
    print("| synth | audio model | workers | examples | render-bound ex/s | end-to-end ex/s "
          "| ratio | parent CPU ms/ex |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    share_cores_with_workers(args.workers)
    for name in args.synths.split(","):
        for model in args.audio_models.split(","):
            print(bench(name, args.n, args.workers, args.repeats, model, formats), flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
