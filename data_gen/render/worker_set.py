"""Render worker processes as the parent sees them: start, wait until ready, replace, stop.

`WorkerSet` owns the processes and the counters about them; a `Job` (render/job.py) borrows the
set for one run of work and replaces the workers it finds dead or hung. The processes run
`worker_process.worker_main`.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing as mp
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import wait
from typing import Any

from data_gen.render.worker_process import Item, widen_pipe, worker_main

# Builds a worker's renderer from (spec, settings); module-level, so it pickles into a spawn.
RendererFactory = Callable[[Any, Any], Any]


class RenderPoolError(RuntimeError):
    """The pool cannot go on (a worker cannot start its engine, or keeps dying while idle)."""


class Worker:
    """One worker process and what the parent knows of it."""

    def __init__(
        self,
        ctx: Any,
        spec_json: dict,
        settings_json: dict,
        startup_s: float,
        renderer_factory: RendererFactory | None = None,
    ) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=worker_main,
            args=(child, spec_json, settings_json, renderer_factory),
            daemon=True,
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


class WorkerSet:
    """`num_workers` processes rendering one synth; iterate it for the live `Worker`s.

    Attributes:
      restarts: workers replaced after a crash or a hang, over the set's life.
      compiles: lazy compiles the workers reported (dx7 algorithms), over the set's life.
      busy: a job is using the set (one job at a time).
    """

    def __init__(
        self,
        synth_name: str,
        spec_json: dict,
        settings_json: dict,
        num_workers: int,
        *,
        startup_timeout_s: float,
        start_method: str,
        renderer_factory: RendererFactory | None = None,
    ) -> None:
        self.synth_name = synth_name
        self.startup_timeout_s = startup_timeout_s
        self.restarts = 0
        self.compiles = 0
        self.busy = False
        ctx = mp.get_context(start_method)
        self._spawn = lambda: Worker(
            ctx, spec_json, settings_json, startup_timeout_s, renderer_factory
        )
        self._live = [self._spawn() for _ in range(num_workers)]
        try:
            self._await_ready()
        except BaseException:
            self.close()
            raise

    def __iter__(self) -> Iterator[Worker]:
        return iter(self._live)

    def __len__(self) -> int:
        return len(self._live)

    @property
    def closed(self) -> bool:
        return not self._live

    def replace(self, worker: Worker) -> Worker:
        """Kills `worker` and starts a fresh one in its place (it reports "ready" when up)."""
        worker.kill()
        self.restarts += 1
        fresh = self._spawn()
        self._live[self._live.index(worker)] = fresh
        return fresh

    def close(self) -> None:
        """Stops every worker (killing any that does not exit)."""
        live, self._live = self._live, []
        for worker in live:
            worker.stop()

    def _await_ready(self) -> None:
        pending = list(self._live)
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
                        f"render worker for synth {self.synth_name!r} could not start: {message[1]}"
                    )
                worker.ready = True
                worker.deadline = float("inf")
                pending.remove(worker)
