"""RenderPool: worker processes that render examples in chunks, survive crashes and hangs.

The pool is the public face: it checks arguments, owns a `WorkerSet` (render/worker_set.py) and
runs one `Job` (render/job.py) at a time over it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from data_gen.render.examples import RenderResult
from data_gen.render.job import Job, Limits
from data_gen.render.settings import RenderSettings
from data_gen.render.worker_set import RendererFactory, WorkerSet
from data_gen.synths.sampling import PresetSampler
from data_gen.synths.spec import SynthSpec


class RenderPool:
    """Renders examples of one synth on `num_workers` processes (never threads: engines deadlock).

    Each worker builds its engine once. Work goes out in chunks of `chunk_size` (grouped by the
    spec's `routing_param` when it has one, e.g. the dx7 algorithm, and sent preferably to a
    worker that already compiled that processor); results come back in input order. A worker
    that dies, or sends nothing for `timeout_s` seconds while rendering (or `startup_timeout_s`
    while starting or compiling), is killed and replaced; the example it was on is retried once,
    then returned failed with the error, and the job goes on. `renderer_factory(spec, settings)`
    builds each worker's renderer (default `make_renderer`; a module-level function, so it can
    be sent to a spawned process).

    Use as a context manager; one job (`render_examples` / `render_presets`) at a time.
    """

    def __init__(
        self,
        spec: SynthSpec,
        settings: RenderSettings | None = None,
        num_workers: int | None = None,
        timeout_s: float = 60.0,
        *,
        startup_timeout_s: float = 300.0,
        chunk_size: int = 8,
        start_method: str = "spawn",
        renderer_factory: RendererFactory | None = None,
    ) -> None:
        if num_workers is None:
            num_workers = len(os.sched_getaffinity(0))
        if num_workers < 1 or chunk_size < 1 or timeout_s <= 0 or startup_timeout_s <= 0:
            raise ValueError(
                "RenderPool needs num_workers >= 1, chunk_size >= 1 and positive timeouts, got "
                f"{num_workers=}, {chunk_size=}, {timeout_s=}, {startup_timeout_s=}"
            )
        if start_method not in ("spawn", "forkserver"):
            raise ValueError(f"start_method must be 'spawn' or 'forkserver', got {start_method!r}")
        self.spec = spec
        self.settings = settings if settings is not None else RenderSettings()
        self.num_workers = num_workers
        self.timeout_s = float(timeout_s)
        self.startup_timeout_s = float(startup_timeout_s)
        self.chunk_size = chunk_size
        # Results may arrive ahead of the one being yielded; this bounds how far (memory).
        self.window = max(8 * chunk_size * num_workers, 64)
        self._route_pos = (
            None if spec.routing_param is None else spec.used_position(spec.routing_param)
        )
        self._workers = WorkerSet(
            spec.name,
            spec.to_json(),
            self.settings.to_json(),
            num_workers,
            startup_timeout_s=self.startup_timeout_s,
            start_method=start_method,
            renderer_factory=renderer_factory,
        )

    @property
    def restarts(self) -> int:
        """Workers replaced after a crash or a hang, over the pool's life."""
        return self._workers.restarts

    @property
    def compiles(self) -> int:
        """Lazy compiles in workers (e.g. dx7 algorithms), over the pool's life."""
        return self._workers.compiles

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for CPU accounting)."""
        return [worker.process.pid for worker in self._workers]

    # ---- public API ---------------------------------------------------------------------------
    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stops every worker (killing any that does not exit)."""
        workers = getattr(self, "_workers", None)  # absent when the constructor failed early
        if workers is not None:
            workers.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit modules may be gone already
            self.close()

    def render_examples(
        self, indices: Iterable[int], seed: int, *, return_audio: bool = True
    ) -> Iterator[RenderResult]:
        """Synthetic examples: each drawn from `PresetSampler(spec, seed).stream(index)` and
        redrawn while its RMS is outside `settings.rms_range`; results in the order of `indices`.
        """
        if not isinstance(indices, range | np.ndarray):  # a range stays lazy: jobs can be huge
            indices = np.asarray(list(indices), np.int64)
        sampler = PresetSampler(self.spec, seed)  # also validates the seed here, not in a worker
        key_of = None
        if self._route_pos is not None:  # route by the first candidate's processor
            key_of = lambda pos: int(sampler.sample(int(indices[pos]))[self._route_pos])
        return self._run("examples", seed, return_audio, indices, None, key_of)

    def render_presets(
        self,
        presets_NxP: np.ndarray,
        *,
        indices: Sequence[int] | None = None,
        return_audio: bool = True,
    ) -> Iterator[RenderResult]:
        """Given presets (hand-crafted sets), rendered as they are: no RMS redraw, RMS reported.

        `indices` label the results (default 0..N-1).
        """
        presets_NxP = np.asarray(self.spec.check_presets(np.atleast_2d(presets_NxP)), np.float32)
        n = presets_NxP.shape[0]
        indices = np.arange(n) if indices is None else np.asarray(indices, np.int64)
        if indices.shape != (n,):
            raise ValueError(f"render_presets: {n} presets but indices of shape {indices.shape}")
        key_of = None
        if self._route_pos is not None:
            key_of = lambda pos: int(presets_NxP[pos, self._route_pos])
        return self._run("presets", None, return_audio, indices, presets_NxP, key_of)

    # ---- job driver (runs in the caller's thread) ---------------------------------------------
    def _run(self, kind, seed, return_audio, indices, presets, key_of) -> Iterator[RenderResult]:
        if self._workers.closed:
            raise RuntimeError("RenderPool is closed")
        limits = Limits(self.chunk_size, self.window, self.timeout_s, self.startup_timeout_s)
        job = Job(
            self._workers, limits, self.spec, kind, seed, return_audio, indices, presets, key_of
        )
        return job.results()


def pool_render_fn(
    spec: SynthSpec,
    num_workers: int | None = None,
    settings: RenderSettings | None = None,
    progress: bool = True,
) -> Callable[[np.ndarray], Iterator[RenderResult]]:
    """`render(presets_NxP)`: given presets through a fresh pool, in order, RMS reported (not
    filtered), with a progress bar on stderr (hundreds of presets take minutes)."""

    def render(presets_NxP: np.ndarray) -> Iterator[RenderResult]:
        from tqdm import tqdm

        with RenderPool(spec, settings, num_workers) as pool:
            results = pool.render_presets(presets_NxP, return_audio=False)
            desc = f"render {spec.name} presets"
            yield from tqdm(results, desc, len(presets_NxP), unit="preset", disable=not progress)

    return render
