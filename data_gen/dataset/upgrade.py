"""Upgrade a dataset folder in place: the old layout (format_version 1) to the TFDS layout, and
a TFDS folder written before shard digests to one with them.

    python -m data_gen.dataset.upgrade DIR

Old folders hold raw-row ArrayRecord and/or tf.Example TFRecord shards named
`{split}.{format}-{k}-of-{n}` and a `metadata.json` without TFDS files. Each shard is read (its
record count checked), rewritten as `tf.Example` records under the TFDS names in the same
formats, then the TFDS files are written and the old shards deleted. Interrupted, the same
command starts again: the old metadata stays until the new folder is complete. A folder without
shard digests has every shard read in full, its record count and indices checked (and each
shard's first and last records compared across formats), then its digests recorded: from then
on a shard replaced after this point is refused (one replaced before it is adopted, unless its
indices or the other format give it away).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.cli_support.command_line import (
    OneLineParser,
    about,
    fail,
    in_dir_problem,
    invoked_as,
)
from data_gen.dataset import checks, schema, shard_io
from data_gen.dataset.codec import ExampleCodec
from data_gen.dataset.writer import ShardGroup

_OLD_NAME = re.compile(r"^[^-]+\.(tfrecord|array_record)-\d{5}-of-\d{5}$")


def _old_rows(folder: Path, shard: dict[str, Any], features) -> np.ndarray:
    path = folder / shard["file"]
    payloads = shard_io.read_shard(path, shard["format"], expected=shard["num_examples"])
    if shard["format"] == "array_record":  # raw little-endian rows, features in metadata order
        return np.frombuffer(b"".join(payloads), schema.record_dtype(features))
    return schema.to_rows(features, ExampleCodec(features).decode(payloads, where=str(path)))


def upgrade(folder: str | Path) -> dict[str, Any]:
    """Rewrite an old-layout folder in place; return the new metadata."""
    folder = Path(folder)
    path = folder / schema.METADATA_FILE
    old = checks.load_metadata_json(folder)
    if old.get("format_version") == schema.FORMAT_VERSION:
        _remove_old_shards(folder)
        return add_digests(folder)
    if old.get("format_version") != 1 or old.get("complete") is not True:
        raise schema.DatasetError(
            f"{path}: only complete format_version 1 folders can be upgraded (finish generating "
            "it with the old version first)"
        )
    features = schema.features_from_json(old["features"])
    fmt = "array_record" if "array_record" in old["formats"] else old["formats"][0]
    meta = {**old, "format_version": schema.FORMAT_VERSION, "shards": [], "complete": False}
    meta["formats"] = sorted(old["formats"], key=lambda f: f != "array_record")
    source = sorted(
        (s for s in old["shards"] if s["format"] == fmt), key=lambda s: s["index_start"]
    )
    for k, shard in enumerate(source):
        rows = _old_rows(folder, shard, features)
        group = ShardGroup(folder, meta, k, shard["index_start"], shard["index_end"])
        group.write(rows)
        meta["shards"] += group.commit()
    meta["complete"] = True
    checks.check_metadata(meta, str(path))
    schema.write_dataset_info(folder, meta)
    _remove_old_shards(folder)
    return checks.read_metadata(folder)


def add_digests(folder: str | Path) -> dict[str, Any]:
    """Record the shard digests (`checks.DIGEST_KEYS`) of a complete folder written without
    them, as the writer would have; return the metadata (unchanged if it has them)."""
    folder = Path(folder)
    meta = checks.read_metadata(folder)
    if _has_digests(meta):
        return meta
    codec = ExampleCodec(schema.features_from_json(meta["features"]))
    shards, ends_by_range = [], {}
    for shard in meta["shards"]:
        path = folder / shard["file"]
        payloads = shard_io.read_shard(path, shard["format"], expected=shard["num_examples"])
        index = codec.decode(payloads, ["index"], str(path))["index"]
        checks.check_shard_indices(folder, [shard], np.arange(len(payloads)), index)
        ends = shard_io.ends_sha256([payloads[p] for p in shard_io.end_positions(len(payloads))])
        other = ends_by_range.setdefault(shard["index_start"], (ends, path))
        if other[0] != ends:
            raise schema.DatasetError(
                f"{path} and {other[1].name} should hold the same records but differ; one was "
                f"replaced: {schema.REGENERATE}"
            )
        digests = {"num_bytes": path.stat().st_size, "sha256": shard_io.file_sha256(path)}
        shards.append({**shard, **digests, "ends_sha256": ends})
    schema.write_dataset_info(folder, {**meta, "shards": shards})  # rewrites metadata.json
    return checks.read_metadata(folder)


def _has_digests(meta: dict[str, Any]) -> bool:
    return all(s.get(k) is not None for s in meta["shards"] for k in checks.DIGEST_KEYS)


def pending(folder: str | Path) -> list[str]:
    """What `upgrade(folder)` would do (empty: the folder is current); raises as it would."""
    folder = Path(folder)
    old = checks.load_metadata_json(folder)
    if old.get("format_version") != schema.FORMAT_VERSION:
        return [f"rewrote the old layout (format_version {old.get('format_version')})"]
    todo = [] if _has_digests(checks.read_metadata(folder)) else ["recorded the shard digests"]
    leftovers = sum(1 for p in folder.iterdir() if _OLD_NAME.match(p.name))
    return todo + ([f"removed {leftovers} old-layout shards"] if leftovers else [])


def _remove_old_shards(folder: Path) -> None:
    for p in folder.iterdir():
        if _OLD_NAME.match(p.name):
            p.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(
        prog=invoked_as("data_gen.dataset.upgrade"), description=__doc__.split("\n")[0]
    )
    parser.add_argument("folder", type=Path, help="dataset folder")
    args = parser.parse_args(argv)
    problem = in_dir_problem(args.folder, "folder", "dataset folder")
    if problem:
        return fail(parser.prog, problem)
    try:
        with about("folder", (ValueError, FileNotFoundError)):  # not a dataset, or not upgradable
            done = pending(args.folder)
            meta = upgrade(args.folder) if done else checks.read_metadata(args.folder)
    except ValueError as e:
        return fail(parser.prog, e)
    except OSError as e:  # a shard that cannot be read or written
        return fail(parser.prog, e, code=1)
    what = f"{meta['num_examples']} examples ({', '.join(meta['formats'])})"
    if not done:  # a rerun after an upgrade finished: fine, and said so
        print(f"{args.folder}: already current (layout and shard digests), {what}; nothing to do")
    else:
        print(f"{args.folder}: upgraded ({'; '.join(done)}), {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
