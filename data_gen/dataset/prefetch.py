"""Drain an iterator in a background thread, so its producer never waits on the consumer."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

_DONE = object()


class Prefetch:
    """Iterate `source` in a thread into a queue of at most `size` items; use as a context manager.

    The render pool's results are read by whoever iterates it; while the caller runs the audio
    model, this thread keeps reading, so render workers never block on a full pipe. Leaving the
    context stops the thread before the pool is closed (after an error, it waits 2 s at most).
    """

    def __init__(self, source: Iterable[Any], size: int) -> None:
        self._source = source
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, size))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prefetch", daemon=True)

    def __enter__(self) -> Iterator[Any]:
        self._thread.start()
        return self._iter()

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self._stop.set()
        # On an error (Ctrl-C, a write error) wait only briefly: the thread may be waiting on a
        # render worker the interrupt killed; it is a daemon and stops at its next step.
        deadline = None if exc_type is None else time.monotonic() + 2.0
        while self._thread.is_alive() and (deadline is None or time.monotonic() < deadline):
            with contextlib.suppress(queue.Empty):  # unblock a pending put
                self._queue.get(timeout=0.05)

    def _run(self) -> None:
        try:
            for item in self._source:
                if not self._put((item, None)):
                    return
            self._put((_DONE, None))
        except BaseException as e:  # noqa: BLE001 (re-raised in the consumer)
            self._put((_DONE, e))

    def _put(self, entry: tuple) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _iter(self) -> Iterator[Any]:
        while True:
            item, error = self._queue.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
