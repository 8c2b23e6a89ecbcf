"""Resumable training batch iterators; the host-fed one streams whole batches through grain."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

from jaxproxy import sharding

Batch = dict[str, np.ndarray]
# Enough epochs that a run never reaches the end; grain's range is lazy so the size costs nothing.
_MAX_EPOCHS = 1_000_000


class BatchIterator:
    """Infinite iterator of training batches: dicts of global jax arrays sharded P("data").

    Epoch e visits a fresh permutation of the examples drawn from (seed, e), dropping the last
    partial batch. `get_state()` is a small JSON-able dict; `set_state()` on a fresh iterator
    built with the same arguments continues with exactly the batches that would have followed.
    """

    mode: str = ""

    def __init__(self, *, mesh: Mesh, global_batch: int, seed: int, num_examples: int):
        sharding.check_batch_divides(global_batch, mesh)
        self.mesh = mesh
        self.global_batch = global_batch
        self.seed = seed
        self.num_examples = num_examples
        self.steps_per_epoch = self._count_steps()
        if self.steps_per_epoch < 1:
            raise ValueError(
                f"{self.mode}: {num_examples} examples give no full batch of {global_batch}"
            )
        self.epoch = 0
        self.step = 0  # next batch's position within `epoch`

    def _count_steps(self) -> int:
        return self.num_examples // self.global_batch

    def __iter__(self) -> BatchIterator:
        return self

    def __next__(self) -> dict[str, jax.Array]:
        raise NotImplementedError

    def _advance(self) -> None:
        self.step += 1
        if self.step == self.steps_per_epoch:
            self.epoch, self.step = self.epoch + 1, 0

    def get_state(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "seed": self.seed,
            "global_batch": self.global_batch,
            "num_examples": self.num_examples,
            "epoch": self.epoch,
            "step": self.step,
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        mine = self.get_state()
        for key in ("mode", "seed", "global_batch", "num_examples"):
            if state.get(key) != mine[key]:
                raise ValueError(
                    f"cannot resume a data iterator saved with {key}={state.get(key)!r} "
                    f"into one built with {key}={mine[key]!r}"
                )
        if not 0 <= state["step"] < self.steps_per_epoch:
            raise ValueError(f"saved step {state['step']} outside [0, {self.steps_per_epoch})")
        self.epoch, self.step = int(state["epoch"]), int(state["step"])


@dataclasses.dataclass(frozen=True)
class EpochPlan:
    """Which examples each host reads for each step: host h takes rows [h*L, (h+1)*L) of a batch."""

    num_examples: int
    global_batch: int
    seed: int
    process_index: int
    process_count: int

    @property
    def steps_per_epoch(self) -> int:
        return self.num_examples // self.global_batch

    @property
    def local_batch(self) -> int:
        return self.global_batch // self.process_count

    def permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_examples)

    def local_positions(self, perm: np.ndarray, step: int) -> np.ndarray:
        start = step * self.global_batch + self.process_index * self.local_batch
        # Sorted: ArrayRecord reads faster in file order, and order inside a batch is irrelevant.
        return np.sort(perm[start : start + self.local_batch])


class _ReadBatch:
    """grain map function: global batch number -> this host's rows, read as whole batches."""

    def __init__(self, plan: EpochPlan, read: Callable[[np.ndarray], Batch]):
        self.plan = plan
        self.read = read
        self._cached = (-1, None)  # (epoch, permutation): one attribute, so threads read it whole

    def __call__(self, batch_number: int) -> Batch:
        epoch, step = divmod(batch_number, self.plan.steps_per_epoch)
        cached = self._cached
        if cached[0] != epoch:
            cached = self._cached = (epoch, self.plan.permutation(epoch))
        return self.read(self.plan.local_positions(cached[1], step))


class HostBatchIterator(BatchIterator):
    """Host input pipeline on grain: range(batch numbers) -> map(read whole batch) [-> mp_prefetch].

    `read(positions)` reads one host's rows of a batch (`ProxyDataset.read`: one batched read of
    the TFDS data source, one bulk decode): whole batches, never single records, pass through
    Python. Host h of H reads rows [h*L, (h+1)*L) of every global batch (L = batch / H), so hosts
    share one permutation and never overlap. Batches are placed on the mesh `device_prefetch`
    steps ahead (placement is asynchronous). State is (epoch, step): exact resume.
    """

    def __init__(
        self,
        read: Callable[[np.ndarray], Batch],
        *,
        mode: str,
        num_examples: int,
        mesh: Mesh,
        global_batch: int,
        seed: int,
        num_workers: int = 0,
        device_prefetch: int = 2,
        process_index: int | None = None,
        process_count: int | None = None,
    ):
        self.mode = mode
        super().__init__(mesh=mesh, global_batch=global_batch, seed=seed, num_examples=num_examples)
        self.plan = EpochPlan(
            num_examples,
            global_batch,
            seed,
            jax.process_index() if process_index is None else process_index,
            jax.process_count() if process_count is None else process_count,
        )
        self.read = read
        self.num_workers = num_workers
        self.device_prefetch = max(1, device_prefetch)
        self._source = None
        self._placed = collections.deque()

    def _start(self) -> None:
        import grain

        first = self.epoch * self.steps_per_epoch + self.step
        ds = grain.MapDataset.range(first, first + _MAX_EPOCHS * self.steps_per_epoch)
        # A few threads and a short buffer: each element is a whole batch, not a record.
        read_options = grain.ReadOptions(num_threads=2, prefetch_buffer_size=4)
        ds = ds.map(_ReadBatch(self.plan, self.read)).to_iter_dataset(read_options)
        if self.num_workers > 0:
            # grain's worker processes read absl flags; outside absl.app.run they are unparsed.
            from absl import flags

            if not flags.FLAGS.is_parsed():
                flags.FLAGS.mark_as_parsed()
            ds = ds.mp_prefetch(
                grain.MultiprocessingOptions(num_workers=self.num_workers, per_worker_buffer_size=2)
            )
        self._source = iter(ds)
        self._placed.clear()

    def next_local(self) -> Batch:
        """This host's numpy slice of the next batch (advances the iterator, no device work)."""
        if self._source is None:
            self._start()
        batch = next(self._source)
        self._advance()
        return batch

    def __next__(self) -> dict[str, jax.Array]:
        if self._source is None:
            self._start()
        while len(self._placed) < self.device_prefetch:
            self._placed.append(sharding.host_local_to_global(next(self._source), self.mesh))
        self._advance()
        return self._placed.popleft()

    def set_state(self, state: Mapping[str, Any]) -> None:
        super().set_state(state)
        self._source = None  # restarts grain at the saved batch number on the next call
