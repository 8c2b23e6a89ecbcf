"""Data-parallel mesh helpers: a 1-D "data" mesh, replicated parameters, per-host batch slices."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

DATA_AXIS = "data"


def make_mesh(devices: list[jax.Device] | None = None) -> Mesh:
    """A 1-D ("data",) mesh over all devices (or the given ones).

    The axis is `Auto` (the compiler propagates shardings from the inputs' placements), so model
    code needs no sharding annotations; JAX 0.10's default would be `Explicit`.
    """
    devices = jax.devices() if devices is None else list(devices)
    return jax.make_mesh((len(devices),), (DATA_AXIS,), (AxisType.Auto,), devices=devices)


def replicated(mesh: Mesh) -> NamedSharding:
    """Every device holds the whole array (parameters, optimizer state)."""
    return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """The leading (batch) axis split over "data"; other axes whole."""
    return NamedSharding(mesh, P(DATA_AXIS))


def num_data_shards(mesh: Mesh) -> int:
    return int(mesh.shape[DATA_AXIS])


def check_batch_divides(global_batch: int, mesh: Mesh) -> None:
    """Raises a ValueError naming the sizes when the global batch cannot be split evenly."""
    devices = num_data_shards(mesh)
    hosts = jax.process_count()
    if global_batch <= 0 or global_batch % devices:
        raise ValueError(
            f"global batch size {global_batch} must be a positive multiple of the {devices} "
            f"devices on the 'data' mesh axis (e.g. {max(1, global_batch // devices) * devices})"
        )
    if global_batch % hosts:
        raise ValueError(f"global batch size {global_batch} must divide over {hosts} hosts")


def host_local_to_global(
    batch: Mapping[str, np.ndarray], mesh: Mesh, spec: P | None = None
) -> dict[str, jax.Array]:
    """Turns this host's slice of a batch into global arrays (batch axis split over "data").

    Each host passes its `global_batch / process_count` rows; with `spec=P()` each host passes
    the whole (identical) array instead.
    """
    spec = P(DATA_AXIS) if spec is None else spec
    sharding = NamedSharding(mesh, spec)
    out = {}
    for name, local in batch.items():
        if spec == P():
            global_shape = local.shape
        else:
            global_shape = (local.shape[0] * jax.process_count(), *local.shape[1:])
        out[name] = jax.make_array_from_process_local_data(sharding, local, global_shape)
    return out
