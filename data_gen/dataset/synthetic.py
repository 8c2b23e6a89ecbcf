"""Synthetic datasets: random presets drawn per index, RMS-filtered, rendered, embedded, written.

`generate` is what `python -m data_gen.generate` runs; the machinery it shares with hand-crafted
sets and the Beam pipeline is in `dataset.production`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from data_gen.dataset.production import (
    AudioModel,
    build_generation_metadata,
    default_pool_factory,
    run_writer,
)

log = logging.getLogger(__name__)

# The paper's three synthetic sets (reference facts section 2.7): name -> (split, size, seed).
PAPER_PRESETS = {
    "paper-train": ("train", 10_240_000, 500),
    "paper-val": ("val", 131_072, 401),
    "paper-test": ("test", 131_072, 600),
}


def generate(
    out_dir: str | os.PathLike,
    spec,
    settings,
    model: AudioModel,
    *,
    seed: int,
    split: str,
    size: int,
    index_start: int = 0,
    index_end: int | None = None,
    formats: Sequence[str] = ("tfrecord",),
    shard_size: int = 4096,
    workers: int = 2,
    batch_size: int = 64,
    extras: Sequence[str] = (),
    timeout_s: float = 120.0,
    pool_factory: Callable[..., Any] = default_pool_factory,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate (or resume) one dataset folder; return its final metadata.

    Rendering runs in `workers` processes (`pool_factory(spec, settings, workers, timeout_s)`, a
    context manager with `render_examples(indices, seed)`), embedding in this process in
    fixed-shape batches, writing in the writer's thread. Rerunning the same call after any crash
    continues after the last complete shard.
    """
    if index_start % shard_size:
        log.warning(
            "index_start %d is not a multiple of shard_size %d: the parts still merge, but "
            "into other shard files than one run would write",
            index_start,
            shard_size,
        )
    meta = build_generation_metadata(
        spec, settings, model, seed=seed, split=split, size=size, index_start=index_start,
        index_end=index_end, formats=formats, shard_size=shard_size, extras=extras,
        batch_size=batch_size,
    )  # fmt: skip
    return run_writer(
        out_dir,
        meta,
        lambda pool, start, end: pool.render_examples(range(start, end), seed),
        lambda: pool_factory(spec, settings, workers, timeout_s),
        model,
        progress=progress,
    )
