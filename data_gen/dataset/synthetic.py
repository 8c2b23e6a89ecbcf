"""Synthetic datasets: random presets drawn per index, RMS-filtered, rendered, embedded, written.

`generate` is what `python -m data_gen.generate` runs; the machinery it shares with hand-crafted
sets and the Beam pipeline is in `dataset.production`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from data_gen.dataset.options import Part, WriterOptions
from data_gen.dataset.production import AudioModel, build_generation_metadata, run_writer

log = logging.getLogger(__name__)

# The paper's three synthetic sets (reference facts section 2.7).
PAPER_PRESETS = {
    "paper-train": Part("train", 10_240_000, 500),
    "paper-val": Part("val", 131_072, 401),
    "paper-test": Part("test", 131_072, 600),
}


def generate(
    out_dir: str | os.PathLike,
    spec,
    settings,
    model: AudioModel,
    part: Part,
    options: WriterOptions,
) -> dict[str, Any]:
    """Generate (or resume) one dataset folder; return its final metadata.

    Rendering runs in `options.workers` processes (`options.make_pool(spec, settings)`, a context
    manager with `render_examples(indices, seed)`), embedding in this process in fixed-shape
    batches, writing in the writer's thread. Rerunning the same call after any crash continues
    after the last complete shard.
    """
    if part.index_start % options.shard_size:
        log.warning(
            "index_start %d is not a multiple of shard_size %d: the parts still merge, but "
            "into other shard files than one run would write",
            part.index_start,
            options.shard_size,
        )
    meta = build_generation_metadata(spec, settings, model, part, options)
    return run_writer(
        out_dir,
        meta,
        lambda pool, start, end: pool.render_examples(range(start, end), part.seed),
        spec,
        settings,
        model,
        options,
    )
