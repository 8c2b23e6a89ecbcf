"""The two training input paths (device-resident, grain streaming) and in-order eval batches."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import jax
import numpy as np
from jax.sharding import Mesh

from jaxproxy import sharding
from jaxproxy.data.dataset import DEFAULT_FEATURES, ProxyDataset
from jaxproxy.data.device import DeviceResidentIterator
from jaxproxy.data.iterators import BatchIterator, HostBatchIterator

MODES = ("auto", "device", "stream")
PLACEMENTS = ("auto", "replicated", "sharded")
_CPU_DEVICE_BUDGET = 1 << 30  # CPU "devices" share host RAM; stay modest there
_REPLICATE_MAX_BYTES = 256 << 20  # small sets go on every device: a global shuffle, no gather comms


def device_budget_bytes() -> int:
    """Bytes of one device's memory the training set may take by default (half of it)."""
    stats = jax.local_devices()[0].memory_stats() or {}
    limit = stats.get("bytes_limit")
    return int(limit) // 2 if limit else _CPU_DEVICE_BUDGET


def choose_mode(
    dataset: ProxyDataset,
    mesh: Mesh,
    *,
    mode: str = "auto",
    placement: str = "auto",
    features: Sequence[str] = DEFAULT_FEATURES,
    budget_bytes: int | None = None,
) -> tuple[str, str | None]:
    """(mode, placement); "auto" is "device" when the set fits `budget_bytes` per device (and
    replicated when also under 256 MiB), else "stream"."""
    if mode not in MODES:
        raise ValueError(f"data mode must be one of {MODES}, got {mode!r}")
    if placement not in PLACEMENTS:
        raise ValueError(f"device placement must be one of {PLACEMENTS}, got {placement!r}")
    budget = device_budget_bytes() if budget_bytes is None else budget_bytes
    total = dataset.nbytes(features)
    if placement == "auto":
        replicate = total <= min(budget, _REPLICATE_MAX_BYTES)
        placement = "replicated" if replicate else "sharded"
    per_device = total if placement == "replicated" else -(-total // sharding.num_data_shards(mesh))
    if mode == "auto":
        mode = "device" if per_device <= budget else "stream"
    return mode, placement if mode == "device" else None


def make_train_iterator(
    dataset: ProxyDataset,
    *,
    mesh: Mesh,
    global_batch: int,
    seed: int,
    mode: str = "auto",
    placement: str = "auto",
    features: Sequence[str] = DEFAULT_FEATURES,
    budget_bytes: int | None = None,
    num_workers: int = 0,
    device_prefetch: int = 2,
) -> BatchIterator:
    """A resumable iterator of training batches ({feature: global jax array, sharded P("data")}).

    "device": the whole set bulk-loaded onto the mesh, shuffle and gather on device. "stream":
    grain over the TFDS data source (any size, per-host shards, `num_workers` processes).
    "auto": device if the set fits `budget_bytes` per device, else stream.
    """
    mode, placement = choose_mode(
        dataset, mesh, mode=mode, placement=placement, features=features, budget_bytes=budget_bytes
    )
    common = {"mesh": mesh, "global_batch": global_batch, "seed": seed}
    if mode == "device":
        return DeviceResidentIterator(
            lambda start, stop: dataset.read_range(start, stop, features),
            dataset.feature_shapes(features),
            num_examples=dataset.num_examples,
            placement=placement,
            **common,
        )
    return HostBatchIterator(
        lambda positions: dataset.read(positions, features),
        mode=mode,
        num_examples=dataset.num_examples,
        num_workers=num_workers,
        device_prefetch=device_prefetch,
        **common,
    )


def num_eval_batches(num_examples: int, batch_size: int) -> int:
    return num_examples // batch_size


def eval_batches(
    arrays: Mapping[str, np.ndarray],
    *,
    mesh: Mesh,
    batch_size: int,
    process_index: int | None = None,
    process_count: int | None = None,
) -> Iterator[dict[str, jax.Array]]:
    """In-order fixed batches of `batch_size` over host arrays, the last partial batch dropped.

    Every host holds the same arrays and places its slice of each batch; the result is the same
    global batch whatever the host count (e.g. the validation MRR's batches of 256).
    """
    sharding.check_batch_divides(batch_size, mesh)
    for local in eval_local_batches(arrays, batch_size, process_index, process_count):
        yield sharding.host_local_to_global(local, mesh)


def eval_local_batches(
    arrays: Mapping[str, np.ndarray],
    batch_size: int,
    process_index: int | None = None,
    process_count: int | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """This host's numpy slices of the in-order evaluation batches."""
    host = jax.process_index() if process_index is None else process_index
    hosts = jax.process_count() if process_count is None else process_count
    local = batch_size // hosts
    num = len(next(iter(arrays.values())))
    for b in range(num_eval_batches(num, batch_size)):
        start = b * batch_size + host * local
        yield {name: arr[start : start + local] for name, arr in arrays.items()}
