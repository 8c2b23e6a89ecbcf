"""Merge index-range parts of one dataset (generated separately) into one complete folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from data_gen.dataset import checks, schema

# Identity keys that legitimately differ between parts.
_PART_KEYS = ("index_start", "index_end")


def merge(
    parts: Sequence[str | os.PathLike], out_dir: str | os.PathLike, *, copy: bool = False
) -> dict[str, Any]:
    """Check that `parts` are complete, compatible and cover [0, dataset_size) exactly once, then
    hard-link (or copy) their shards into `out_dir` under global shard numbers; return metadata.

    Parts split on multiples of the shard size merge into exactly the folder one run writes.
    """
    metas = [checks.read_metadata(p) for p in parts]  # raises on incomplete parts
    if not metas:
        raise ValueError("merge: no parts given")
    first = metas[0]
    for path, meta in zip(parts, metas, strict=True):
        diffs = [d for d in schema.identity_mismatches(meta, first) if not d.startswith(_PART_KEYS)]
        if diffs:
            raise ValueError(
                f"merge: {path} is not a part of the same dataset as {parts[0]}: {'; '.join(diffs)}"
            )
    order = sorted(range(len(parts)), key=lambda i: metas[i]["index_start"])
    pos = 0
    for i in order:
        lo, hi = metas[i]["index_start"], metas[i]["index_end"]
        if lo != pos:
            what = "overlaps" if lo < pos else f"leaves [{pos}, {lo}) uncovered before"
            raise ValueError(f"merge: part {parts[i]} [{lo}, {hi}) {what} it")
        pos = hi
    if pos != first["dataset_size"]:
        raise ValueError(
            f"merge: parts cover [0, {pos}) but the dataset has {first['dataset_size']} indices"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise ValueError(f"merge: output folder {out} is not empty")
    ranges = sorted(
        {(s["index_start"], i) for i in order for s in metas[i]["shards"]}, key=lambda r: r[0]
    )
    shards = []
    for k, (lo, i) in enumerate(ranges):
        for s in metas[i]["shards"]:
            if s["index_start"] != lo:
                continue
            name = schema.shard_name(first, s["format"], k, len(ranges))
            _place(Path(parts[i]) / s["file"], out / name, copy)
            shards.append({**s, "file": name})
    merged = {
        **first,
        "index_start": 0,
        "index_end": first["dataset_size"],
        "shards": shards,
        "num_examples": sum(m["num_examples"] for m in metas),
        "failed_indices": sorted(i for m in metas for i in m["failed_indices"]),
        "num_rejected": sum(m.get("num_rejected", 0) for m in metas),
        "complete": True,
    }
    checks.check_metadata(merged, str(out))
    schema.write_dataset_info(out, merged)
    return merged


def _place(src: Path, dst: Path, copy: bool) -> None:
    if not copy:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass  # another file system: copy instead
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
