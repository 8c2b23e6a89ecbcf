"""The dataset contract, defined once: features, metadata and the TFDS folder layout.

numpy-only (TFDS, itself TensorFlow-free here, is imported lazily), so both halves import it:
`data_gen` writes with it, `jaxproxy.data` reads with it. A complete folder is a TFDS dataset:
`dataset_info.json` + `features.json` (a `FeaturesDict`) + `metadata.json` (TFDS's metadata
dict: the synth spec, render settings, audio model, renderer, seed, shards) + shards named
`{dataset}-{split}.{format}-{k:05d}-of-{n:05d}` holding `tf.Example`s (`data_gen.dataset.codec`).
Reading a folder back with every check is `data_gen.dataset.checks.read_metadata`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 2
METADATA_FILE = "metadata.json"  # TFDS's MetadataDict file; also the resumable progress record
DATASET_INFO_FILE = "dataset_info.json"
FORMATS = ("tfrecord", "array_record")
# What `generate` and `convert dataset` write unless told: grain/TFDS data sources read
# ArrayRecord, tf.data reads TFRecord.
DEFAULT_FORMATS = ("array_record", "tfrecord")
_DTYPES = {"float32": "<f4", "int64": "<i8"}
UPGRADE_COMMAND = "python -m data_gen.dataset.upgrade {folder}"


REGENERATE = "regenerate it (delete the folder and rerun the generation command)"


class DatasetError(ValueError):
    """A dataset folder breaks the contract; the message names the file and the field."""


class DatasetWarning(UserWarning):
    """A dataset folder can be read but not checked in full (e.g. written before shard digests)."""


@dataclasses.dataclass(frozen=True)
class Feature:
    """One per-example feature: name, dtype name and shape (without the batch)."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.dtype not in _DTYPES:
            raise ValueError(f"feature {self.name!r}: dtype must be one of {list(_DTYPES)}")
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


# The features every folder holds (DESIGN.md's contract); anything else is an optional extra.
CONTRACT_FEATURES = ("params", "embedding", "rms", "index")


def make_features(
    num_params: int, embedding_dim: int, extras: Mapping[str, Sequence[int]] | None = None
) -> list[Feature]:
    """The contract's features in metadata order, plus optional float32 extras ("audio", "mel")."""
    features = [
        Feature("params", "float32", (num_params,)),
        Feature("embedding", "float32", (embedding_dim,)),
        Feature("rms", "float32", ()),
        Feature("index", "int64", ()),
    ]
    for name, shape in (extras or {}).items():
        features.append(Feature(name, "float32", tuple(shape)))
    return features


def features_from_json(items: Sequence[Mapping[str, Any]]) -> list[Feature]:
    return [Feature(f["name"], f["dtype"], tuple(f["shape"])) for f in items]


def feature(meta: Mapping[str, Any], name: str) -> Feature:
    """The feature `name` of a metadata dict; DatasetError naming the field when it has none."""
    for f in features_from_json(meta["features"]):
        if f.name == name:
            return f
    raise DatasetError(f"field 'features': no feature {name!r}")


def extra_names(meta: Mapping[str, Any]) -> list[str]:
    """The optional features (beyond the contract's) a metadata dict declares, in its order."""
    return [f["name"] for f in meta["features"] if f["name"] not in CONTRACT_FEATURES]


def record_dtype(features: Sequence[Feature]) -> np.dtype:
    """A packed structured dtype: one row per example (data_gen's in-memory batches)."""
    return np.dtype([(f.name, _DTYPES[f.dtype], f.shape) for f in features])


def to_rows(features: Sequence[Feature], batch: Mapping[str, np.ndarray]) -> np.ndarray:
    """A batch dict of arrays [B, ...] -> structured array [B], checking names and shapes."""
    missing = [f.name for f in features if f.name not in batch]
    extra = sorted(set(batch) - {f.name for f in features})
    if missing or extra:
        raise ValueError(f"batch features: missing {missing}, unexpected {extra}")
    n = len(batch["index"])
    rows = np.zeros(n, dtype=record_dtype(features))
    for f in features:
        value = np.asarray(batch[f.name])
        if value.shape != (n, *f.shape):
            raise ValueError(
                f"feature {f.name!r}: expected shape {(n, *f.shape)}, got {value.shape}"
            )
        rows[f.name] = value
    return rows


def tfds_features(features: Sequence[Feature]):
    """The contract as a TFDS `FeaturesDict` (what `features.json` holds)."""
    import tensorflow_datasets as tfds

    return tfds.features.FeaturesDict(
        {f.name: tfds.features.Tensor(shape=f.shape, dtype=f.np_dtype) for f in features}
    )


# ---- naming -----------------------------------------------------------------------------------
def dataset_name(meta: Mapping[str, Any]) -> str:
    """The TFDS dataset name in shard file names: `<synth>_<audio model>`, snake_case."""
    raw = f"{meta['synth']['name']}_{meta['audio_model']['name']}".lower()
    name = re.sub(r"[^a-z0-9_]+", "_", raw).strip("_")
    return name if name[:1].isalpha() else f"ds_{name}"


def shard_name(meta: Mapping[str, Any], fmt: str, k: int, n: int) -> str:
    return f"{dataset_name(meta)}-{meta['split']}.{fmt}-{k:05d}-of-{n:05d}"


def num_shards(meta: Mapping[str, Any]) -> int:
    return -(-(meta["index_end"] - meta["index_start"]) // meta["shard_size"])


# ---- metadata ---------------------------------------------------------------------------------
def check_formats(formats: Sequence[str], name: str = "--formats") -> None:
    """Raises ValueError naming `name` unless `formats` is a non-empty subset of FORMATS."""
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats or len(set(formats)) != len(formats):
        raise ValueError(
            f"{name} must be a comma-separated subset of {','.join(FORMATS)}, "
            f"got {','.join(formats) or 'nothing'}"
        )


def build_metadata(
    *,
    synth: Mapping[str, Any],
    synth_fingerprint: str,
    render: Mapping[str, Any],
    audio_model: Mapping[str, Any],
    seed: int,
    split: str,
    features: Sequence[Feature],
    index_start: int,
    index_end: int,
    dataset_size: int,
    formats: Sequence[str],
    shard_size: int,
    created_by: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A fresh (incomplete, empty) metadata dict in the contract's layout.

    Beyond the contract's keys, `index_start`/`index_end` (the range this folder covers),
    `dataset_size` (the whole dataset's size, for merging parts), `formats`, `shard_size` and
    `num_rejected` (RMS rejections) let a rerun resume and a merge check coverage.
    """
    check_formats(formats, "formats")
    if not 0 <= index_start < index_end <= dataset_size:
        raise ValueError(
            f"index range [{index_start}, {index_end}) must be non-empty and within "
            f"[0, {dataset_size})"
        )
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    meta = {
        "format_version": FORMAT_VERSION,
        "complete": False,
        "synth": dict(synth),
        "synth_fingerprint": synth_fingerprint,
        "render": dict(render),
        "audio_model": {
            k: audio_model[k] for k in ("name", "embedding_dim", "sample_rate", "version")
        },
        "seed": int(seed),
        "split": split,
        "num_examples": 0,
        "features": [f.to_json() for f in features],
        "shards": [],
        "failed_indices": [],
        "created_by": created_by,
        "index_start": int(index_start),
        "index_end": int(index_end),
        "dataset_size": int(dataset_size),
        # The primary (first) format is what TFDS reads: ArrayRecord when present.
        "formats": sorted(formats, key=lambda f: f != "array_record"),
        "shard_size": int(shard_size),
        "num_rejected": 0,
    }
    meta.update(extra or {})
    return meta


# The keys that define *which* dataset a folder holds (progress keys excluded).
IDENTITY_KEYS = (
    "format_version", "synth", "synth_fingerprint", "render", "audio_model", "seed", "split",
    "features", "index_start", "index_end", "dataset_size", "formats", "shard_size",
    "embed_batch_size", "preset_set_sha256", "renderer",
)  # fmt: skip


def identity_mismatches(found: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """Names (with both values, shortened) of the identity keys where two metadata dicts differ."""
    out = []
    for key in IDENTITY_KEYS:
        a, b = found.get(key), wanted.get(key)
        if json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True):
            if key == "synth":
                out.append("synth (spec differs)")
            else:
                out.append(f"{key} (folder has {_short(a)}, asked for {_short(b)})")
    return out


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def write_metadata(out_dir: str | os.PathLike, meta: Mapping[str, Any]) -> None:
    """Write metadata.json atomically (temp file, fsync, rename): the progress record."""
    path = Path(out_dir) / METADATA_FILE
    _write_atomic(path, json.dumps(meta, indent=1) + "\n")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_dataset_info(out_dir: str | os.PathLike, meta: Mapping[str, Any]) -> None:
    """Write the TFDS files of a complete folder with TFDS's own `DatasetInfo`.

    TFDS writes into a scratch folder; its files are then renamed into place, `dataset_info.json`
    last, so a kill leaves either the old state (rerun finishes it) or a complete folder.
    """
    import tempfile

    from tensorflow_datasets.core import dataset_info, naming, splits
    from tensorflow_datasets.core import utils as tfds_utils

    out = Path(out_dir)
    fmts = meta["formats"]
    counts = [s["num_examples"] for s in shards_of(meta, fmts[0])]
    num_bytes = sum((out / s["file"]).stat().st_size for s in shards_of(meta, fmts[0]))
    template = naming.ShardedFileTemplate(
        data_dir=out, dataset_name=dataset_name(meta), split=meta["split"], filetype_suffix=fmts[0]
    )
    split_info = splits.SplitInfo(
        name=meta["split"], shard_lengths=counts, num_bytes=num_bytes, filename_template=template
    )
    info = dataset_info.DatasetInfo(
        builder=dataset_info.DatasetIdentity(
            name=dataset_name(meta), version=tfds_utils.Version("1.0.0"), data_dir=str(out),
            module_name="",
        ),
        description=f"{meta['synth']['name']} presets and {meta['audio_model']['name']} "
        f"embeddings ({meta['created_by']})",
        features=tfds_features(features_from_json(meta["features"])),
        metadata=dataset_info.MetadataDict(meta),
        alternative_file_formats=fmts[1:],
    )  # fmt: skip
    info.set_file_format(fmts[0])
    info.set_splits(splits.SplitDict([split_info]))
    with tempfile.TemporaryDirectory(dir=out, prefix=".tfds-") as scratch:
        info.write_to_directory(scratch)
        names = sorted(os.listdir(scratch), key=lambda n: n == DATASET_INFO_FILE)
        for name in names:
            os.replace(os.path.join(scratch, name), out / name)


def shards_of(meta: Mapping[str, Any], fmt: str) -> list[dict[str, Any]]:
    return sorted((s for s in meta["shards"] if s["format"] == fmt), key=lambda s: s["index_start"])
