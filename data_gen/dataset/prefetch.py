"""Drain an iterator in a background thread, so its producer never waits on the consumer."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

_DONE = object()


class Prefetch:
    """Iterate `source` in a thread into a queue of at most `size` items; use as a context manager.

    The render pool's results are read by whoever iterates it; while the caller runs the audio
    model, this thread keeps reading, so render workers never block on a full pipe. Leaving the
    context (normally or on an error) stops the thread before the pool is closed.
    """

    def __init__(self, source: Iterable[Any], size: int) -> None:
        self._source = source
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, size))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prefetch", daemon=True)

    def __enter__(self) -> Iterator[Any]:
        self._thread.start()
        return self._iter()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):  # unblock a pending put
                self._queue.get(timeout=0.05)
        self._thread.join()

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
