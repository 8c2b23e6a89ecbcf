"""What a producer is asked for: the part of a split to make and the writer options."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any


def default_pool_factory(spec, settings, num_workers: int, timeout_s: float):
    """A `RenderPool` of `num_workers` processes (DawDreamer is imported only when one is made)."""
    from data_gen.render import RenderPool

    return RenderPool(spec, settings, num_workers=num_workers, timeout_s=timeout_s)


@dataclasses.dataclass(frozen=True)
class Part:
    """One split of a dataset (name, size, seed) and the index range [index_start, index_end) of it
    that this run makes (the whole split unless told: parts are joined by `merge`)."""

    split: str
    size: int
    seed: int
    index_start: int = 0
    index_end: int | None = None

    @property
    def end(self) -> int:
        return self.size if self.index_end is None else self.index_end


@dataclasses.dataclass(frozen=True)
class WriterOptions:
    """The writer arguments every producer takes (synthetic, hand-crafted, Beam), set once by the
    flags (`generation_flags.writer_options`).

    `formats`, `shard_size`, `batch_size` and `extras` shape the folder (they are in its metadata,
    so a resume must repeat them); `workers`, `timeout_s`, `progress` and `pool_factory` only say
    how it is made: the bytes written never depend on them.
    """

    formats: Sequence[str] = ("tfrecord",)
    shard_size: int = 4096
    batch_size: int = 64
    extras: Sequence[str] = ()
    workers: int = 2
    timeout_s: float = 120.0
    progress: bool = True
    # (spec, settings, workers, timeout_s) -> a context manager with `render_examples` and
    # `render_presets`; tests and benchmarks pass their own.
    pool_factory: Callable[..., Any] = default_pool_factory

    def make_pool(self, spec, settings):
        return self.pool_factory(spec, settings, self.workers, self.timeout_s)
