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
) -> tuple[dict[str, Any], np.ndarray]:
    """(metadata, structured rows in index order) from one format's shards (whole shards until
    at least `limit` rows, when given).

    Each shard's record count is checked against the metadata before its records are decoded,
    then its indices against the shard's range and its categorical values against the spec;
    errors name the shard.
    """
    meta = checks.read_metadata(out_dir, require_complete=require_complete)
    features = schema.features_from_json(meta["features"])
    codec = ExampleCodec(features)
    cat_cols, cards = checks.categorical_columns(meta["synth"])
    fmt = fmt or meta["formats"][0]
    if fmt not in meta["formats"]:
        raise schema.DatasetError(f"{out_dir}: no {fmt} shards; formats: {meta['formats']}")
    parts = []
    for shard in sorted(meta["shards"], key=lambda s: s["index_start"]):
        if shard["format"] != fmt:
            continue
        if limit is not None and sum(len(p) for p in parts) >= limit:
            break
        path = Path(out_dir) / shard["file"]
        payloads = shard_io.read_shard(path, fmt, expected=shard["num_examples"])
        arrays = codec.decode(payloads, where=str(path))
        idx = arrays["index"]
        if len(idx) and (
            np.any(np.diff(idx) <= 0)
            or idx[0] < shard["index_start"]
            or idx[-1] >= shard["index_end"]
        ):
            raise schema.DatasetError(
                f"{path}: indices not increasing within [{shard['index_start']}, "
                f"{shard['index_end']})"
            )
        checks.check_categoricals(arrays["params"], cat_cols, cards, str(path))
        parts.append(schema.to_rows(features, arrays))
    rows = np.concatenate(parts) if parts else np.zeros(0, schema.record_dtype(features))
    return meta, rows
