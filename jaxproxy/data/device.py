"""Device-resident training data: the set lives on the mesh; shuffle and gather run on device."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxproxy import sharding
from jaxproxy.data.iterators import Batch, BatchIterator

PLACEMENTS = ("replicated", "sharded")


def place_rows(
    load: Callable[[int, int], Batch],
    num_rows: int,
    row_sharding: NamedSharding,
    shapes: Mapping[str, tuple[tuple[int, ...], np.dtype]],
) -> dict[str, jax.Array]:
    """Global arrays of `num_rows` rows, loading only the row ranges this host's devices hold.

    `load(start, stop)` returns the features of rows [start, stop); each range is read once.
    """
    loaded: dict[tuple[int, int], Batch] = {}

    def rows(index: tuple[slice, ...]) -> Batch:
        start, stop, _ = index[0].indices(num_rows)
        if (start, stop) not in loaded:
            loaded[(start, stop)] = load(start, stop)
        return loaded[(start, stop)]

    out = {}
    for name, (shape, dtype) in shapes.items():
        global_shape = (num_rows, *shape)
        out[name] = jax.make_array_from_callback(
            global_shape,
            row_sharding,
            lambda index, name=name, dtype=dtype: rows(index)[name].astype(dtype),
        )
    return out


class DeviceResidentIterator(BatchIterator):
    """Batches gathered on device from an on-device permutation keyed by (seed, epoch).

    "replicated": every device holds the whole set; epoch e uses one global permutation and each
    step takes the next `global_batch` of it. "sharded": device d holds rows
    [d*n, (d+1)*n) (n = num_examples // devices; the remainder is never used) and each step takes
    `global_batch / devices` rows of its own shard, from its own permutation keyed by
    (seed, epoch, d): no communication, but a device only ever sees its own shard (the examples
    are i.i.d. by index, so a contiguous shard is a random subset). State is (epoch, step).
    """

    mode = "device"

    def __init__(
        self,
        load: Callable[[int, int], Batch],
        shapes: Mapping[str, tuple[tuple[int, ...], np.dtype]],
        *,
        num_examples: int,
        mesh: Mesh,
        global_batch: int,
        seed: int,
        placement: str = "sharded",
    ):
        if placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
        self.placement = placement
        self.num_shards = sharding.num_data_shards(mesh)
        super().__init__(mesh=mesh, global_batch=global_batch, seed=seed, num_examples=num_examples)
        if placement == "replicated":
            self.data = place_rows(load, num_examples, sharding.replicated(mesh), shapes)
            self._permute, self._gather = self._replicated_fns()
        else:
            rows = self.rows_per_shard * self.num_shards
            self.data = place_rows(load, rows, sharding.batch_sharding(mesh), shapes)
            self._permute, self._gather = self._sharded_fns()
        self._perm_epoch, self._perm = -1, None

    @property
    def rows_per_shard(self) -> int:
        return self.num_examples // self.num_shards

    def _count_steps(self) -> int:
        if self.placement == "replicated":
            return self.num_examples // self.global_batch
        return self.rows_per_shard // (self.global_batch // self.num_shards)

    def _replicated_fns(self):
        n, batch = self.num_examples, self.global_batch

        def permute(seed, epoch):
            key = jax.random.fold_in(jax.random.key(seed), epoch)
            return jax.random.permutation(key, n).astype(jnp.int32)

        def gather(data, perm, step):
            idx = jax.lax.dynamic_slice_in_dim(perm, step * batch, batch)
            return {name: arr[idx] for name, arr in data.items()}

        return (
            jax.jit(permute, out_shardings=sharding.replicated(self.mesh)),
            jax.jit(gather, out_shardings=sharding.batch_sharding(self.mesh)),
        )

    def _sharded_fns(self):
        n_local = self.rows_per_shard
        batch_local = self.global_batch // self.num_shards
        axis = sharding.DATA_AXIS

        def permute_local(key):
            key = jax.random.fold_in(key, jax.lax.axis_index(axis))
            return jax.random.permutation(key, n_local).astype(jnp.int32)

        permute_shards = jax.shard_map(
            permute_local, mesh=self.mesh, in_specs=P(), out_specs=P(axis)
        )

        def permute(seed, epoch):
            return permute_shards(jax.random.fold_in(jax.random.key(seed), epoch))

        def gather_local(data, perm, step):
            idx = jax.lax.dynamic_slice_in_dim(perm, step * batch_local, batch_local)
            return {name: arr[idx] for name, arr in data.items()}

        gather = jax.shard_map(
            gather_local, mesh=self.mesh, in_specs=(P(axis), P(axis), P()), out_specs=P(axis)
        )
        return jax.jit(permute), jax.jit(gather)

    def __next__(self) -> dict[str, jax.Array]:
        if self._perm_epoch != self.epoch:
            self._perm = self._permute(np.int32(self.seed), np.int32(self.epoch))
            self._perm_epoch = self.epoch
        batch = self._gather(self.data, self._perm, np.int32(self.step))
        self._advance()
        return batch

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "placement": self.placement, "num_shards": self.num_shards}

    def set_state(self, state: Mapping[str, Any]) -> None:
        for key in ("placement", "num_shards"):
            if state.get(key) != getattr(self, key):
                raise ValueError(
                    f"cannot resume a device-resident iterator saved with {key}="
                    f"{state.get(key)!r} into one with {key}={getattr(self, key)!r}"
                )
        super().set_state(state)
