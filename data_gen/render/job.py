"""One render job: cut the input into chunks, feed the workers, recover, reorder."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import queue
import selectors
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from data_gen.render.examples import RenderResult
from data_gen.render.worker_process import Item, read_audio
from data_gen.render.worker_set import RenderPoolError, Worker, WorkerSet
from data_gen.synths.sampling import PresetSampler
from data_gen.synths.spec import SynthSpec


@dataclasses.dataclass(frozen=True)
class Limits:
    """How a job cuts and paces work (RenderPool's arguments)."""

    chunk_size: int  # examples sent to a worker at once
    window: int  # how far results may run ahead of the one being yielded (memory)
    timeout_s: float  # silence while rendering before a worker counts as hung
    startup_timeout_s: float  # the same while starting or compiling


class Job:
    """One job over a `WorkerSet`: a manager thread feeds the workers (replacing those that die or
    hang); the caller's iterator yields the results in input order.

    `kind` is "examples" (drawn from `seed`, redrawn by the RMS filter) or "presets" (given);
    `key_of(pos)` is the routing key of input position `pos`, or None for no routing.
    """

    def __init__(
        self,
        workers: WorkerSet,
        limits: Limits,
        spec: SynthSpec,
        kind: str,
        seed: int | None,
        return_audio: bool,
        indices: range | np.ndarray,
        presets: np.ndarray | None,
        key_of: Callable[[int], int] | None,
    ) -> None:
        self.workers, self.limits, self.spec = workers, limits, spec
        self.kind, self.seed, self.return_audio = kind, seed, return_audio
        self.indices, self.presets, self.key_of = indices, presets, key_of
        self.n = len(indices)
        self.out: queue.Queue = queue.Queue()
        self.consumed = 0  # results yielded so far (written by the caller's thread)
        self.cancelled = False
        self.starved = False  # the window is full: the caller's thread must wake the manager
        self.filled = 0  # positions turned into chunks so far
        self.pending: collections.deque[list[Item]] = collections.deque()
        self.posted = 0
        self.idle_deaths = 0

    # ---- caller side --------------------------------------------------------------------------
    def results(self) -> Iterator[RenderResult]:
        if self.workers.busy:
            raise RuntimeError("RenderPool runs one job at a time; finish the previous iterator")
        self.workers.busy = True
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        # One selector for the job (rebuilding one per wait costs more than the bookkeeping).
        self.selector = selectors.DefaultSelector()
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)
        for worker in self.workers:
            self._watch(worker)
        thread = threading.Thread(target=self._manage, name="render-pool", daemon=True)
        thread.start()
        ahead: dict[int, RenderResult] = {}
        try:
            for pos in range(self.n):
                while pos not in ahead:
                    got = self.out.get()
                    if isinstance(got, BaseException):
                        raise got
                    ahead[got[0]] = got[1]
                yield ahead.pop(pos)
                self.consumed = pos + 1
                # The manager waits for room in the window: wake it once half is free.
                if self.starved and self.filled - self.consumed <= self.limits.window // 2:
                    self.starved = False
                    self._wake()
        finally:
            self.cancelled = True
            self._wake()
            thread.join()
            self.selector.close()
            os.close(self._wake_r)
            os.close(self._wake_w)
            self.workers.busy = False

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # a wake-up is already pending
            os.write(self._wake_w, b"x")

    # ---- manager thread -----------------------------------------------------------------------
    def _manage(self) -> None:
        try:
            while not self._finished():
                self._fill()
                self._dispatch()
                self._wait_and_handle()
        except BaseException as err:  # handed to the caller's thread, which raises it
            self.workers.close()  # they may hold stale work: the pool is unusable now
            self.out.put(err)

    def _finished(self) -> bool:
        if self.cancelled:  # drain what workers still hold, so the next job starts clean
            self.pending.clear()
            return not any(w.items for w in self.workers)
        return self.posted == self.n

    def _fill(self) -> None:
        """Turns the next input positions into chunks, keeping results within the window."""
        limits = self.limits
        step = max(limits.window // 2, limits.chunk_size)  # whole steps: chunks full and grouped
        while not self.cancelled and self.filled < self.n:
            if self.filled - self.consumed + step > limits.window:
                self.starved = True  # set before the re-check, so no wake-up is missed
                if self.filled - self.consumed + step > limits.window:
                    return
            self.starved = False
            stop = min(self.n, self.filled + step)
            groups: dict[int | None, list[Item]] = {}
            for pos in range(self.filled, stop):
                key = None if self.key_of is None else self.key_of(pos)
                preset = None if self.presets is None else self.presets[pos]
                groups.setdefault(key, []).append(Item(pos, int(self.indices[pos]), key, preset))
            chunks = [
                group[i : i + limits.chunk_size]
                for group in groups.values()
                for i in range(0, len(group), limits.chunk_size)
            ]
            self.pending.extend(sorted(chunks, key=lambda c: c[0].pos))
            self.filled = stop

    def _dispatch(self) -> None:
        limits = self.limits
        for worker in self.workers:
            while worker.ready and self.pending and len(worker.items) < 2 * limits.chunk_size:
                chunk = self._pick(worker)
                self.pending.remove(chunk)
                if not worker.items:
                    worker.deadline = time.monotonic() + limits.timeout_s
                worker.items.extend(chunk)
                worker.keys.add(chunk[0].key)
                message = (self.kind, self.seed, self.return_audio, [it.wire() for it in chunk])
                try:
                    worker.conn.send(message)
                except OSError:
                    break  # it died: noticed by its sentinel in the next wait

    def _pick(self, worker: Worker) -> list[Item]:
        """The chunk a worker should take: one of a key it has (a processor it compiled, e.g. a
        dx7 algorithm), else one of a key no worker has yet, else the oldest (a new compile
        beats idling)."""
        claimed = set().union(*(w.keys for w in self.workers))
        own = unclaimed = None
        for chunk in self.pending:
            key = chunk[0].key
            if key in worker.keys:
                own = chunk
                break
            if unclaimed is None and key not in claimed:
                unclaimed = chunk
        return own or unclaimed or self.pending[0]

    def _watch(self, worker: Worker) -> None:
        self.selector.register(worker.conn, selectors.EVENT_READ, worker)
        self.selector.register(worker.process.sentinel, selectors.EVENT_READ, worker)

    def _unwatch(self, worker: Worker) -> None:
        self.selector.unregister(worker.conn)
        self.selector.unregister(worker.process.sentinel)

    def _wait_and_handle(self) -> None:
        limits = self.limits
        timeout = max(0.0, min(w.deadline for w in self.workers) - time.monotonic())
        events = self.selector.select(min(timeout, 3600.0))
        touched = {key.data for key, _ in events}
        if None in touched:
            os.read(self._wake_r, 4096)
        now = time.monotonic()
        for worker in list(self.workers):
            if worker not in touched:
                if now > worker.deadline:
                    phase = "rendering" if worker.ready else "starting or compiling"
                    limit = limits.timeout_s if worker.ready else limits.startup_timeout_s
                    self._recover(worker, f"worker hung: no progress for {limit} s while {phase}")
                continue
            alive = self._receive(worker)
            if alive and not worker.process.is_alive():
                alive = self._receive(worker) and False  # read what it sent before dying
            if not alive:
                code = worker.process.exitcode
                self._recover(worker, f"worker crashed (exit code {code})")

    def _receive(self, worker: Worker) -> bool:
        """Handles every message already sent by a worker; False once its pipe is closed."""
        limits = self.limits
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                tag = message[0]
                now = time.monotonic()
                if tag == "result":
                    item = worker.items.popleft()
                    assert item.pos == message[1], "worker results out of order"
                    result = message[2]
                    if message[3]:
                        result.audio = read_audio(worker.conn, message[3])
                    self._post(item.pos, result)
                    worker.deadline = now + limits.timeout_s if worker.items else float("inf")
                elif tag == "tick":
                    worker.deadline = now + limits.timeout_s
                elif tag == "busy":
                    worker.deadline = now + limits.startup_timeout_s
                    self.workers.compiles += 1
                elif tag == "ready":
                    worker.ready = True
                    worker.deadline = float("inf")
                elif tag == "init_error":
                    raise RenderPoolError(
                        f"replacement render worker for synth {self.spec.name!r} could not "
                        f"start: {message[1]}"
                    )
        except (EOFError, OSError):
            return False
        return True

    def _post(self, pos: int, result: RenderResult) -> None:
        self.posted += 1
        if not self.cancelled:
            self.out.put((pos, result))

    def _recover(self, worker: Worker, reason: str) -> None:
        """Replaces a dead or hung worker; retries its current example once, requeues the rest."""
        items = list(worker.items)
        self._unwatch(worker)
        self._watch(self.workers.replace(worker))  # it gets work once it reports ready
        if not items:
            self.idle_deaths += 1
            if self.idle_deaths > 3:
                raise RenderPoolError(f"render workers keep dying while idle: {reason}")
            return
        suspect, rest = items[0], items[1:]
        if rest:
            self.pending.appendleft(rest)
        suspect.attempt += 1
        if suspect.attempt < 2:
            self.pending.appendleft([suspect])
        else:
            self._post(suspect.pos, self._failed(suspect, f"{reason}; retried once, failed again"))

    def _failed(self, item: Item, error: str) -> RenderResult:
        if item.preset is not None:
            preset = item.preset
        else:
            preset = PresetSampler(self.spec, self.seed).sample(item.index)
        return RenderResult(item.index, preset, None, float("nan"), failed=True, error=error)
