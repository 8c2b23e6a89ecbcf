"""RenderPool: worker processes that render examples in chunks, survive crashes and hangs."""

from __future__ import annotations

import collections
import contextlib
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing.connection import wait
from typing import Any

import numpy as np

from data_gen.render.examples import RenderResult
from data_gen.render.job import Item, Job, RenderPoolError
from data_gen.render.settings import RenderSettings
from data_gen.render.worker import widen_pipe, worker_main
from data_gen.synths.dx7 import DX7_ALGORITHM_PARAM
from data_gen.synths.sampling import PresetSampler
from data_gen.synths.spec import SynthSpec


class Worker:
    """One worker process and what the parent knows of it."""

    def __init__(self, ctx: Any, spec_json: dict, settings_json: dict, startup_s: float) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=worker_main, args=(child, spec_json, settings_json), daemon=True
        )
        self.process.start()
        child.close()
        widen_pipe(self.conn)
        self.ready = False
        self.items: collections.deque[Item] = collections.deque()  # sent, not yet returned
        self.keys: set[int | None] = set()  # routing keys it has served (compiled processors)
        self.deadline = time.monotonic() + startup_s

    def stop(self, grace_s: float = 5.0) -> None:
        with contextlib.suppress(OSError):  # already gone
            self.conn.send(None)
        self.process.join(grace_s)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5.0)
        self.conn.close()


class RenderPool:
    """Renders examples of one synth on `num_workers` processes (never threads: engines deadlock).

    Each worker builds its engine once. Work goes out in chunks of `chunk_size` (dx7: grouped by
    algorithm, and sent preferably to a worker that already compiled it); results come back in
    input order. A worker that dies, or sends nothing for `timeout_s` seconds while rendering (or
    `startup_timeout_s` while starting or compiling), is killed and replaced; the example it was
    on is retried once, then returned failed with the error, and the job goes on.

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
        self._ctx = mp.get_context(start_method)
        self._spec_json = spec.to_json()
        self._settings_json = self.settings.to_json()
        self._route_pos = (
            spec.used_position(DX7_ALGORITHM_PARAM) if spec.engine == "faust_dx7" else None
        )
        self._busy = False
        self.restarts = 0  # workers replaced after a crash or a hang, over the pool's life
        self.compiles = 0  # lazy compiles in workers (dx7 algorithms), over the pool's life
        self._workers = [self._spawn() for _ in range(num_workers)]
        try:
            self._await_ready()
        except BaseException:
            self.close()
            raise

    # ---- public API ---------------------------------------------------------------------------
    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stops every worker (killing any that does not exit)."""
        workers, self._workers = getattr(self, "_workers", []), []
        for worker in workers:
            worker.stop()

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
        if self._route_pos is not None:  # route by the first candidate's algorithm
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
        if not self._workers:
            raise RuntimeError("RenderPool is closed")
        return Job(self, kind, seed, return_audio, indices, presets, key_of).results()

    # ---- workers ------------------------------------------------------------------------------
    def _spawn(self) -> Worker:
        return Worker(self._ctx, self._spec_json, self._settings_json, self.startup_timeout_s)

    def _await_ready(self) -> None:
        pending = list(self._workers)
        while pending:
            timeout = max(0.0, min(w.deadline for w in pending) - time.monotonic())
            wait([w.conn for w in pending] + [w.process.sentinel for w in pending], timeout)
            for worker in list(pending):
                message = None
                if worker.conn.poll():
                    try:
                        message = worker.conn.recv()
                    except (EOFError, OSError):
                        message = ("init_error", "the worker died while starting its engine")
                elif not worker.process.is_alive():
                    message = ("init_error", "the worker died while starting its engine")
                elif time.monotonic() > worker.deadline:
                    message = ("init_error", f"engine start took over {self.startup_timeout_s} s")
                if message is None:
                    continue
                if message[0] != "ready":
                    raise RenderPoolError(
                        f"render worker for synth {self.spec.name!r} could not start: {message[1]}"
                    )
                worker.ready = True
                worker.deadline = float("inf")
                pending.remove(worker)

    def _replace(self, worker: Worker) -> Worker:
        worker.kill()
        self.restarts += 1
        fresh = self._spawn()
        self._workers[self._workers.index(worker)] = fresh
        return fresh


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
