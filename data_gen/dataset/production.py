"""Producing a dataset folder: render pool -> batched audio model -> DatasetWriter, resumable.

Shared by the synthetic sets (`dataset.synthetic`), the hand-crafted ones (`dataset.handcrafted`)
and the Beam pipeline: metadata, fixed-slot embedding batches, the writer loop with its resume.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from data_gen.dataset import checks, schema
from data_gen.dataset import extras as extras_lib
from data_gen.dataset.options import Part, WriterOptions
from data_gen.dataset.prefetch import Prefetch
from data_gen.dataset.writer import DatasetWriter

log = logging.getLogger(__name__)

CREATED_BY = "jaxproxy data_gen.generate"


class AudioModel(Protocol):
    name: str
    sample_rate: int
    embedding_dim: int
    version: str

    def embed(self, audio_BxN: np.ndarray) -> Any: ...


def audio_model_json(model: AudioModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "embedding_dim": int(model.embedding_dim),
        "sample_rate": int(model.sample_rate),
        "version": str(model.version),
    }


def renderer_fingerprint(spec) -> dict[str, Any]:
    """What makes the sound beside the spec: DawDreamer's version and a hash of the synth source
    (Faust file or plug-in binary), so a changed DSP is not resumed into an older dataset."""
    import hashlib
    from importlib import metadata

    out: dict[str, Any] = {"dawdreamer": metadata.version("dawdreamer")}
    path = None
    if spec.engine == "faust":
        from data_gen.render.faust import resolve_faust_source

        try:
            path = resolve_faust_source(spec.source)
        except (ValueError, OSError):
            path = None  # the renderer reports a missing source with its own message
    elif spec.engine == "vst":
        from data_gen.render.plugins import resolve_plugin

        try:
            path = resolve_plugin(spec)
        except FileNotFoundError:
            path = None  # the renderer reports it, naming every place it looked
    if path is not None and path.is_file():
        out["source_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return out


def share_cores_with_workers(workers: int) -> int:
    """Give torch in this process only the cores the render workers leave (at least one).

    On a CPU-only machine the audio model runs beside the workers; more torch threads than free
    cores only add contention (measured here: 7.7 vs 6.4 CPU ms per mel128 clip, 2 vs 1 thread).
    """
    import torch

    threads = max(1, len(os.sched_getaffinity(0)) - workers)
    torch.set_num_threads(threads)
    return threads


def embed_fixed(model: AudioModel, audio_BxN: np.ndarray, slots: np.ndarray, batch_size: int):
    """Embed rows placed at fixed slots of a zero-padded [batch_size, N] batch.

    Every call has the same shape and each example always sits in the slot `index % batch_size`,
    so an example's embedding does not depend on the number of workers, the shard size or where
    a resumed run started.
    """
    if len(slots) == batch_size:  # a full batch is already in slot order: no padded copy
        padded = audio_BxN
    else:
        padded = np.zeros((batch_size, audio_BxN.shape[1]), np.float32)
        padded[slots] = audio_BxN
    emb = np.asarray(model.embed(padded), dtype=np.float32)
    if emb.shape != (batch_size, model.embedding_dim):
        raise ValueError(
            f"audio model {model.name!r}: embed gave shape {emb.shape}, expected "
            f"{(batch_size, model.embedding_dim)}"
        )
    return emb[slots]


def grid_batches(results: Iterable[Any], batch_size: int) -> Iterator[list[Any]]:
    """Group index-ordered results into batches aligned on multiples of `batch_size`."""
    batch: list[Any] = []
    for r in results:
        if batch and r.index // batch_size != batch[0].index // batch_size:
            yield batch
            batch = []
        batch.append(r)
    if batch:
        yield batch


def examples_from_results(
    results: Sequence[Any], model: AudioModel, batch_size: int, extras: Sequence[str] = ()
) -> tuple[dict[str, np.ndarray] | None, list[int], dict[int, int]]:
    """One grid batch of RenderResults -> (examples or None, failed indices, rejections)."""
    failed = [int(r.index) for r in results if r.failed]
    for r in results:
        if r.failed:
            log.warning("example %d failed: %s", r.index, r.error)
    rejected = {int(r.index): int(r.num_rejected) for r in results if r.num_rejected}
    ok = [r for r in results if not r.failed]
    if not ok:
        return None, failed, rejected
    index = np.array([r.index for r in ok], np.int64)
    audio = np.stack([np.asarray(r.audio, np.float32) for r in ok])
    emb = embed_fixed(model, audio, index % batch_size, batch_size)
    keep = np.all(np.isfinite(emb), axis=1)
    if not keep.all():  # never write NaN targets: count those examples as failed
        log.warning("non-finite embeddings for examples %s; marked failed", index[~keep].tolist())
        failed = sorted(failed + index[~keep].tolist())
    examples = {
        "params": np.stack([r.preset for r in ok]).astype(np.float32)[keep],
        "embedding": emb[keep],
        "rms": np.array([r.rms for r in ok], np.float32)[keep],
        "index": index[keep],
    }
    for name in extras:
        examples[name] = extras_lib.compute(name, audio[keep], model.sample_rate)
    return examples, failed, rejected


def build_generation_metadata(
    spec,
    settings,
    model: AudioModel,
    part: Part,
    options: WriterOptions,
    *,
    extra_meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The metadata a generation run writes (and a rerun must match to resume)."""
    if model.sample_rate != settings.sample_rate:
        raise ValueError(
            f"audio model {model.name!r} runs at {model.sample_rate} Hz but the render sample "
            f"rate is {settings.sample_rate} Hz; render at the model's rate (no resampling)"
        )
    features = schema.make_features(
        spec.num_used,
        model.embedding_dim,
        {name: extras_lib.shape(name, settings) for name in options.extras},
    )
    return schema.build_metadata(
        synth=spec.to_json(),
        synth_fingerprint=spec.fingerprint(),
        render=settings.to_json(),
        audio_model=audio_model_json(model),
        seed=part.seed,
        split=part.split,
        features=features,
        index_start=part.index_start,
        index_end=part.end,
        dataset_size=part.size,
        formats=options.formats,
        shard_size=options.shard_size,
        created_by=CREATED_BY,
        extra={
            "embed_batch_size": options.batch_size,
            "renderer": renderer_fingerprint(spec),
            **(extra_meta or {}),
        },
    )


def run_writer(
    out_dir: str | os.PathLike,
    meta: dict[str, Any],
    results_fn: Callable[[Any, int, int], Iterable[Any]],
    spec,
    settings,
    model: AudioModel,
    options: WriterOptions,
) -> dict[str, Any]:
    """Open (or resume) `out_dir` for `meta`, stream `results_fn(pool, start, end)` (the pool is
    `options.make_pool(spec, settings)`) through the audio model in grid batches into the writer,
    and return the final metadata.

    The pool starts before the writer opens the folder: a synth that cannot start (a plug-in
    DawDreamer refuses) ends the run with nothing written. A complete folder needs no pool.
    """
    starting = contextlib.nullcontext() if _complete(out_dir) else options.make_pool(spec, settings)
    with starting as pool:
        writer = DatasetWriter(out_dir, meta)
        if writer.complete:
            writer.close()
            log.info("%s is already complete", out_dir)
            return writer.meta
        start, end = writer.next_index, meta["index_end"]
        batch_size = meta["embed_batch_size"]
        extras = schema.extra_names(meta)
        bar = _progress_bar(options.progress, meta, start)
        rejected_total = failed_total = 0
        try:
            with Prefetch(results_fn(pool, start, end), 2 * batch_size) as results:
                for batch in grid_batches(results, batch_size):
                    examples, failed, rejected = examples_from_results(
                        batch, model, batch_size, extras
                    )
                    writer.write_batch(examples, failed, rejected)
                    rejected_total += sum(rejected.values())
                    failed_total += len(failed)
                    if bar is not None:
                        bar.update(len(batch))
                        bar.set_postfix(rejected=rejected_total, failed=failed_total, refresh=False)
        except BaseException:
            writer.abort()
            raise
        finally:
            if bar is not None:
                bar.close()
        return writer.close()


def _complete(out_dir: str | os.PathLike) -> bool:
    """Whether `out_dir` holds a complete dataset (the writer then checks it is this one)."""
    if not (Path(out_dir) / schema.METADATA_FILE).is_file():
        return False
    with contextlib.suppress(ValueError):  # the writer says what is wrong with it
        return checks.load_metadata_json(out_dir).get("complete") is True
    return False


def _progress_bar(enabled: bool, meta: dict[str, Any], start: int):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(
        total=meta["index_end"] - meta["index_start"],
        initial=start - meta["index_start"],
        unit="ex",
        desc=f"{meta['synth']['name']}/{meta['audio_model']['name']}/{meta['split']}",
        smoothing=0.05,
    )
