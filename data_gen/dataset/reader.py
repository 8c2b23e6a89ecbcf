"""Reading a generated folder back on the data_gen side (inspection, tests, merge checks)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.dataset import schema, shard_io


def read_examples(
    out_dir: str | os.PathLike,
    fmt: str | None = None,
    *,
    require_complete: bool = True,
    limit: int | None = None,
) -> tuple[dict[str, Any], np.ndarray]:
    """(metadata, structured rows in index order) from one format's shards (whole shards until
    at least `limit` rows, when given).

    Checks each shard's record count against the metadata and that indices stay in the shard's
    range; raises naming the shard otherwise.
    """
    meta = schema.read_metadata(out_dir, require_complete=require_complete)
    features = schema.features_from_json(meta["features"])
    fmt = fmt or meta["formats"][0]
    if fmt not in meta.get("formats", schema.FORMATS):
        raise ValueError(f"{out_dir}: no {fmt} shards; formats: {meta.get('formats')}")
    parts = []
    for shard in sorted(meta["shards"], key=lambda s: s["index_start"]):
        if shard["format"] != fmt:
            continue
        if limit is not None and sum(len(p) for p in parts) >= limit:
            break
        path = Path(out_dir) / shard["file"]
        payloads = shard_io.read_shard(path, fmt)
        rows = (
            schema.decode_examples(features, payloads)
            if fmt == "tfrecord"
            else schema.decode_raw(features, payloads)
        )
        if len(rows) != shard["num_examples"]:
            raise ValueError(f"{path}: {len(rows)} records, metadata says {shard['num_examples']}")
        idx = rows["index"]
        if len(idx) and (idx.min() < shard["index_start"] or idx.max() >= shard["index_end"]):
            raise ValueError(
                f"{path}: indices outside [{shard['index_start']}, {shard['index_end']})"
            )
        parts.append(rows)
    rows = np.concatenate(parts) if parts else np.zeros(0, schema.record_dtype(features))
    return meta, rows
