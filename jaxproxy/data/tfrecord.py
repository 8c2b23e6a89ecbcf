"""Sequential TFRecord training batches with a window shuffle; resume replays at most one window."""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

from jaxproxy import sharding
from jaxproxy.data import records
from jaxproxy.data.iterators import Batch, BatchIterator


class TFRecordBatchIterator(BatchIterator):
    """Reads this host's TFRecord files in a per-epoch order, shuffling within windows of records.

    Host h reads files[h::hosts]; every host runs the same number of steps per epoch (the smallest
    host's share), so up to one host's surplus records are skipped each epoch. Epoch e permutes the
    host's file order with (seed, e, h) and each window of `window` records with (seed, e, h, w).
    State is the window's file position plus rows taken from it: resume re-reads (and CRC-checks)
    at most one window.
    """

    mode = "tfrecord"

    def __init__(
        self,
        files: Sequence[str],
        file_sizes: Sequence[int],
        features: Sequence[records.Feature],
        *,
        mesh: Mesh,
        global_batch: int,
        seed: int,
        window: int = 10_000,
        device_prefetch: int = 2,
        process_index: int | None = None,
        process_count: int | None = None,
    ):
        host = jax.process_index() if process_index is None else process_index
        hosts = jax.process_count() if process_count is None else process_count
        if len(files) < hosts:
            raise ValueError(
                f"tfrecord mode splits files over hosts but there are {len(files)} files for "
                f"{hosts} hosts; regenerate with more shards or use the array_record mode"
            )
        self.files = list(files)[host::hosts]
        self.local_batch = global_batch // hosts
        self._host_examples = min(sum(file_sizes[h::hosts]) for h in range(hosts))
        self.host, self.hosts = host, hosts
        self.features = list(features)
        self.window = window
        self.device_prefetch = max(1, device_prefetch)
        super().__init__(
            mesh=mesh, global_batch=global_batch, seed=seed, num_examples=sum(file_sizes)
        )
        self._placed = collections.deque()  # (state after the batch, placed batch)
        self._reset_window(number=0, position=(0, 0))

    def _count_steps(self) -> int:
        return self._host_examples // self.local_batch

    def _file_order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch, self.host]).permutation(len(self.files))

    def _reset_window(self, number: int, position: tuple[int, int]) -> None:
        self._window_number, self._window_start = number, position
        self._rows: Batch | None = None  # loaded lazily
        self._taken = 0

    def _load_window(self) -> None:
        """Reads `window` records from the window start (across files) and shuffles them."""
        order = self._file_order(self.epoch)
        file_i, offset = self._window_start
        payloads = []
        while len(payloads) < self.window and file_i < len(order):
            for next_offset, payload in records.read_tfrecord(self.files[order[file_i]], offset):
                payloads.append(payload)
                offset = next_offset
                if len(payloads) == self.window:
                    break
            else:
                file_i, offset = file_i + 1, 0
        self._window_end = (file_i, offset)
        rows = records.decode_tf_examples(payloads, self.features)
        key = [self.seed, self.epoch, self.host, self._window_number]
        perm = np.random.default_rng(key).permutation(len(payloads))
        self._rows = {name: arr[perm] for name, arr in rows.items()}

    def _window_len(self) -> int:
        return len(next(iter(self._rows.values())))

    def next_local(self) -> Batch:
        """This host's numpy slice of the next batch (advances the iterator, no device work)."""
        parts, need = [], self.local_batch
        while need:
            if self._rows is None:
                self._load_window()
            available = self._window_len() - self._taken
            if available == 0:
                if self._window_end == self._window_start:
                    raise RuntimeError(f"{self.files}: ran out of records mid-epoch")
                self._reset_window(self._window_number + 1, self._window_end)
                continue
            take = min(need, available)
            parts.append({k: v[self._taken : self._taken + take] for k, v in self._rows.items()})
            self._taken += take
            need -= take
        epoch = self.epoch
        self._advance()
        if self.epoch != epoch:
            self._reset_window(number=0, position=(0, 0))
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def __next__(self) -> dict[str, jax.Array]:
        while len(self._placed) < self.device_prefetch:
            local = self.next_local()
            self._placed.append(
                (self._own_state(), sharding.host_local_to_global(local, self.mesh))
            )
        self._consumed_state, batch = self._placed.popleft()
        return batch

    def _own_state(self) -> dict[str, Any]:
        return {
            **super().get_state(),
            "window": {
                "number": self._window_number,
                "file": self._window_start[0],
                "offset": self._window_start[1],
                "taken": self._taken,
            },
        }

    def get_state(self) -> dict[str, Any]:
        # Batches prefetched onto devices but not yet handed out do not count as consumed.
        return self._consumed_state if self._placed else self._own_state()

    def set_state(self, state: Mapping[str, Any]) -> None:
        super().set_state(state)
        window = state["window"]
        self._placed.clear()
        self._reset_window(window["number"], (window["file"], window["offset"]))
        self._taken = window["taken"]
        self._load_window()
        if not 0 <= self._taken <= self._window_len():
            raise ValueError(f"saved window offset {self._taken} outside the window")
