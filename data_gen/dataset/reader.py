"""Reading a generated folder back on the data_gen side (inspection, tests, upgrades)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.dataset import checks, schema, shard_io
from data_gen.dataset.codec import ExampleCodec


def read_examples(
    out_dir: str | os.PathLike,
    fmt: str | None = None,
    *,
    require_complete: bool = True,
    limit: int | None = None,
    verify: bool = False,
) -> tuple[dict[str, Any], np.ndarray]:
    """(metadata, structured rows in index order) from one format's shards (whole shards until
    at least `limit` rows, when given).

    Every shard of the format is checked first (`checks.check_shards`: size, record count, digests
    of its first and last records; with `verify`, every format's whole files against their
    SHA-256), then each shard read has its indices checked against its range and its categorical
    values against the spec; errors name the shard.
    """
    meta = checks.read_metadata(out_dir, require_complete=require_complete)
    features = schema.features_from_json(meta["features"])
    codec = ExampleCodec(features)
    cat_cols, cards = checks.categorical_columns(meta["synth"])
    fmt = fmt or meta["formats"][0]
    if fmt not in meta["formats"]:
        raise schema.DatasetError(f"{out_dir}: no {fmt} shards; formats: {meta['formats']}")
    for each in meta["formats"] if verify else [fmt]:
        checks.check_shards(out_dir, meta, each, full=verify)
    parts = []
    for shard in schema.shards_of(meta, fmt):
        if limit is not None and sum(len(p) for p in parts) >= limit:
            break
        path = Path(out_dir) / shard["file"]
        payloads = shard_io.read_shard(path, fmt, expected=shard["num_examples"])
        arrays = codec.decode(payloads, where=str(path))
        checks.check_shard_indices(out_dir, [shard], np.arange(len(payloads)), arrays["index"])
        checks.check_categoricals(arrays["params"], cat_cols, cards, str(path))
        parts.append(schema.to_rows(features, arrays))
    rows = np.concatenate(parts) if parts else np.zeros(0, schema.record_dtype(features))
    return meta, rows
