"""Reading a dataset folder's metadata with every check that needs no record: the synth spec and
its fingerprint, features against spec and audio model, index coverage, counts, TFDS files; the
checks of each shard file against its metadata entry (size, digests, index range), and the
per-batch index and categorical checks. numpy-only, like `schema`; inspection and training both
use these, so a folder one refuses the other refuses too."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.dataset import schema, shard_io
from data_gen.dataset.codec import ExampleCodec
from data_gen.dataset.schema import (
    DATASET_INFO_FILE,
    FORMAT_VERSION,
    METADATA_FILE,
    REGENERATE,
    UPGRADE_COMMAND,
    DatasetError,
    DatasetWarning,
    features_from_json,
    tfds_features,
)

DIGEST_KEYS = ("num_bytes", "sha256", "ends_sha256")  # per shard entry, since shard digests


def spec_fingerprint(spec_json: Mapping[str, Any], where: str) -> str:
    """The fingerprint of a spec's JSON form, recomputed by `SynthSpec` (numpy-only).

    The JSON must be exactly what its spec writes back (`to_json`): an edit the spec would
    silently override (a cardinality that disagrees with the allowed values) is refused.
    """
    from data_gen.synths.spec import SynthSpec

    try:
        spec = SynthSpec.from_json(dict(spec_json))
    except (KeyError, TypeError, ValueError) as e:
        raise DatasetError(f"{where}: field 'synth' is not a valid synth spec ({e})") from e
    canonical = spec.to_json()
    if json.dumps(canonical, sort_keys=True) != json.dumps(spec_json, sort_keys=True):
        params = spec_json.get("params", [])
        edited = [
            p.get("name", i)
            for i, (p, q) in enumerate(zip(params, canonical["params"], strict=False))
            if json.dumps(p, sort_keys=True) != json.dumps(q, sort_keys=True)
        ]
        raise DatasetError(
            f"{where}: field 'synth' was edited (parameters {edited[:5]} contradict themselves, "
            "e.g. a cardinality that disagrees with the allowed values); regenerate the dataset"
        )
    return spec.fingerprint()


def categorical_columns(spec_json: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(columns of `params`, cardinalities) of the spec's used categorical parameters."""
    used = [p for p in spec_json.get("params", []) if p.get("used", True)]
    cols = [i for i, p in enumerate(used) if p.get("kind") == "cat"]
    return np.array(cols, np.int64), np.array([int(used[i]["cardinality"]) for i in cols])


def check_categoricals(params_NxP: np.ndarray, cols: np.ndarray, cards: np.ndarray, where: str):
    """Raise DatasetError unless every categorical entry is an integer index below its card."""
    if not len(cols) or not len(params_NxP):
        return
    values = params_NxP[:, cols]
    bad = (values < 0) | (values >= cards) | (values != np.floor(values))
    if bad.any():
        row, j = np.argwhere(bad)[0]
        raise DatasetError(
            f"{where}: {int(bad.sum())} categorical value(s) are not valid indices, first: row "
            f"{int(row)}, params[{int(cols[j])}] = {values[row, j]!r} (cardinality {cards[j]}); "
            "the data do not match the synth spec in the metadata"
        )


def check_shard_indices(
    folder: str | os.PathLike,
    shards: Sequence[Mapping[str, Any]],
    offset_N: np.ndarray,
    index_N: np.ndarray,
    shard_N: np.ndarray | None = None,
) -> None:
    """Raise unless record `offset_N[i]` of `shards[shard_N[i]]` (default: of `shards[0]`) can
    hold index `index_N[i]`; the error names the shard file in `folder`.

    A shard's n records hold n distinct indices of [index_start, index_end) in increasing order
    (failed indices are missing), so record o holds an index in [start + o, end - n + o] and two
    records of a shard are at least as far apart in index as in position. For a whole shard this
    is exactly "strictly increasing within the range"; it also holds for any sample of records
    (a training batch, vectorised over its shards), so a shard copied over another is refused
    whichever rows are read.
    """
    offset_N, index_N = np.asarray(offset_N, np.int64), np.asarray(index_N, np.int64)
    shard_N = np.zeros(len(offset_N), np.int64) if shard_N is None else np.asarray(shard_N)
    order = np.lexsort((offset_N, shard_N))
    k, off, idx = shard_N[order], offset_N[order], index_N[order]
    lo, hi, n = (
        np.array([s[key] for s in shards], np.int64)[k]
        for key in ("index_start", "index_end", "num_examples")
    )
    bad = (idx < lo + off) | (idx > hi - n + off)
    bad[1:] |= (k[1:] == k[:-1]) & (np.diff(idx) < np.diff(off))
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        shard = shards[k[at]]
        raise DatasetError(
            f"{os.path.join(folder, shard['file'])}: indices not increasing within "
            f"[{shard['index_start']}, {shard['index_end']}) (record {off[at]} holds index "
            f"{idx[at]}); the shard was replaced or copied over another: {REGENERATE}"
        )


def check_shard(
    folder: str | os.PathLike, shard: Mapping[str, Any], codec: ExampleCodec, *, full: bool = False
) -> None:
    """Check one shard file against its metadata entry; raise DatasetError naming the file.

    Cheap enough for every training start: the file's record count (ArrayRecord: from its
    footer; TFRecord: its headers), its size and its first and last records, whose indices must
    be in the shard's range and whose SHA-256 must be `ends_sha256`. Those two records are what a
    replaced shard changes (another dataset's shard holds other presets and embeddings at the
    same indices; a copy of another shard holds other indices); a digest of the index column
    alone would not catch the former (every seed writes the same indices) and would read every
    record. A file edited only in its middle passes here, and is caught when its records are
    read (CRCs, index check) or by `full`, which also hashes the whole file (`sha256`, what
    `inspect --verify` does). Entries written before digests get the count and index checks.
    """
    path = Path(folder) / shard["file"]
    if not path.is_file():
        raise DatasetError(f"{folder}: shard {shard['file']} listed in the metadata is missing")
    positions = shard_io.end_positions(shard["num_examples"])
    ends = shard_io.read_records_at(path, shard["format"], positions, shard["num_examples"])
    size = path.stat().st_size
    _check_digest(path, shard, "num_bytes", size, f"its size, {size} bytes,")
    if ends:
        index = codec.decode(ends, ["index"], str(path))["index"]
        check_shard_indices(folder, [shard], np.array(positions), index)
    what = "the SHA-256 of its first and last records"
    _check_digest(path, shard, "ends_sha256", shard_io.ends_sha256(ends), what)
    if full:
        _check_digest(path, shard, "sha256", shard_io.file_sha256(path), "its SHA-256")


def _check_digest(path: Path, shard: Mapping[str, Any], key: str, found: Any, what: str) -> None:
    if shard.get(key) is not None and found != shard[key]:
        raise DatasetError(
            f"{path}: {what} differs from its entry in field 'shards' of {METADATA_FILE} "
            f"({key}); the shard was replaced (e.g. by another dataset's shard of the same name) "
            f"or changed after it was written: {REGENERATE}"
        )


def check_shards(
    folder: str | os.PathLike, meta: Mapping[str, Any], fmt: str, *, full: bool = False
) -> None:
    """`check_shard` on every shard of one format; a warning when the metadata has no digests."""
    codec = ExampleCodec(features_from_json(meta["features"]))
    shards = schema.shards_of(meta, fmt)
    if any(s.get(k) is None for s in shards for k in DIGEST_KEYS):
        warnings.warn(
            f"{folder}: {METADATA_FILE} has no shard digests (written before they were "
            "recorded); its shards are checked by record count and index range only. Add them "
            f"with: {UPGRADE_COMMAND.format(folder=folder)}",
            DatasetWarning,
            stacklevel=2,
        )
    for shard in shards:
        check_shard(folder, shard, codec, full=full)


def load_metadata_json(folder: str | os.PathLike) -> dict[str, Any]:
    """A folder's metadata.json as a dict, unchecked (any format version); errors name the file."""
    folder = Path(folder)
    path = folder / METADATA_FILE
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such dataset folder")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no metadata.json; not a dataset folder")
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(meta, dict):
        raise DatasetError(f"{path}: expected a JSON object")
    return meta


def read_metadata(out_dir: str | os.PathLike, *, require_complete: bool = True) -> dict[str, Any]:
    """Read and check a folder's metadata; raise DatasetError naming the file and the field.

    A complete folder is checked in full: the synth spec's fingerprint is recomputed, the
    features agree with the spec and the audio model, every format's shards tile the index range
    once, shard counts add up to `num_examples` (with the failed indices, to the range) and agree
    with `dataset_info.json`.
    """
    folder = Path(out_dir)
    path = folder / METADATA_FILE
    meta = load_metadata_json(folder)
    if meta.get("format_version") == 1:
        raise DatasetError(
            f"{folder} is a dataset in the old layout (format_version 1, no TFDS files); "
            f"upgrade it in place with: {UPGRADE_COMMAND.format(folder=folder)}"
        )
    for key in ("format_version", "complete", "features", "shards", "num_examples", "split"):
        if key not in meta:
            raise DatasetError(f"{path}: field {key!r} is missing")
    if meta["format_version"] != FORMAT_VERSION:
        raise DatasetError(
            f"{path}: field 'format_version' is {meta['format_version']!r}, this code reads "
            f"{FORMAT_VERSION}"
        )
    try:
        features_from_json(meta["features"])
    except (KeyError, TypeError, ValueError) as e:
        raise DatasetError(f"{path}: field 'features': {e}") from e
    if require_complete:
        if meta["complete"] is not True or not (folder / DATASET_INFO_FILE).is_file():
            raise DatasetError(
                f"{path}: the dataset is incomplete (generation did not finish); rerun the "
                "generation command to complete it"
            )
        check_metadata(meta, str(path))
        check_dataset_info(folder, meta)
    return meta


def check_metadata(meta: Mapping[str, Any], where: str) -> None:
    """The checks of a complete metadata dict that need no file reads (see `read_metadata`)."""
    for key in ("synth", "synth_fingerprint", "audio_model", "formats", "index_start", "index_end"):
        if key not in meta:
            raise DatasetError(f"{where}: field {key!r} is missing")
    fingerprint = spec_fingerprint(meta["synth"], where)
    if fingerprint != meta["synth_fingerprint"]:
        raise DatasetError(
            f"{where}: field 'synth' does not match 'synth_fingerprint' (recomputed "
            f"{fingerprint}, stored {meta['synth_fingerprint']}): the spec was edited after "
            "generation; regenerate the dataset"
        )
    features = {f.name: f for f in features_from_json(meta["features"])}
    num_used = sum(1 for p in meta["synth"].get("params", []) if p.get("used", True))
    expected = {
        "params": (num_used,),
        "embedding": (meta["audio_model"].get("embedding_dim"),),
        "rms": (),
        "index": (),
    }
    for name, shape in expected.items():
        if name not in features or features[name].shape != shape:
            got = list(features[name].shape) if name in features else "missing"
            raise DatasetError(
                f"{where}: field 'features.{name}': expected shape {list(shape)} (from the synth "
                f"spec and audio model), got {got}"
            )
    start, end = meta["index_start"], meta["index_end"]
    failed = meta.get("failed_indices", [])
    if len(set(failed)) != len(failed) or any(not start <= i < end for i in failed):
        raise DatasetError(f"{where}: field 'failed_indices' repeats or leaves [{start}, {end})")
    for fmt in meta["formats"]:
        shards = schema.shards_of(meta, fmt)
        pos = start
        for s in shards:
            lo, hi, n = s["index_start"], s["index_end"], s["num_examples"]
            if lo != pos or not lo < hi or not 0 <= n <= hi - lo:
                raise DatasetError(
                    f"{where}: field 'shards': {fmt} shard {s['file']} covers [{lo}, {hi}) with "
                    f"{n} examples; expected a range starting at index {pos} (every index "
                    "exactly once)"
                )
            pos = hi
        total = sum(s["num_examples"] for s in shards)
        if pos != end or total != meta["num_examples"] or total + len(failed) != end - start:
            raise DatasetError(
                f"{where}: {fmt} shards cover [{start}, {pos}) with {total} examples, but the "
                f"metadata says [{start}, {end}) with num_examples {meta['num_examples']} and "
                f"{len(failed)} failed indices"
            )


def check_dataset_info(folder: Path, meta: Mapping[str, Any]) -> None:
    """`dataset_info.json`'s shard lengths must be the metadata's."""
    path = folder / DATASET_INFO_FILE
    try:
        info = json.loads(path.read_text())
        (split,) = [s for s in info["splits"] if s["name"] == meta["split"]]
        lengths = [int(n) for n in split["shardLengths"]]
    except (ValueError, KeyError, TypeError) as e:
        raise DatasetError(f"{path}: no readable split {meta['split']!r} ({e})") from e
    from tensorflow_datasets.core.features.feature import FeatureConnector

    features_path = folder / "features.json"
    try:
        stored = FeatureConnector.from_config(str(folder)).get_tensor_info()
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetError(f"{features_path}: unreadable ({e})") from e
    if stored != tfds_features(features_from_json(meta["features"])).get_tensor_info():
        raise DatasetError(
            f"{features_path} does not describe the features in {METADATA_FILE} (field "
            "'features'); one of them was edited after generation"
        )
    wanted = [s["num_examples"] for s in schema.shards_of(meta, meta["formats"][0])]
    if lengths != wanted:
        raise DatasetError(
            f"{path}: field 'splits.shardLengths' is {lengths[:8]}, {METADATA_FILE} says "
            f"{wanted[:8]}"
        )
