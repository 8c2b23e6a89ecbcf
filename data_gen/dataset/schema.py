"""The dataset record schema and metadata: the one place on the data_gen side that knows them."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
METADATA_FILE = "metadata.json"
FORMATS = ("tfrecord", "array_record")
_DTYPES = {"float32": "<f4", "int64": "<i8"}


@dataclasses.dataclass(frozen=True)
class Feature:
    """One per-example feature: name, little-endian dtype name and shape (without the batch)."""

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

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


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


def record_dtype(features: Sequence[Feature]) -> np.dtype:
    """A packed structured dtype: one row is exactly one ArrayRecord payload."""
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


def encode_raw(rows: np.ndarray) -> list[bytes]:
    """Structured rows -> ArrayRecord payloads (raw little-endian concatenation of the fields)."""
    buf = rows.tobytes()
    size = rows.dtype.itemsize
    return [buf[i * size : (i + 1) * size] for i in range(len(rows))]


def decode_raw(features: Sequence[Feature], payloads: Sequence[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(payloads), dtype=record_dtype(features))


# ---- tf.Example, encoded by hand (deterministic field order, no TensorFlow) ---------------------
def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 -> two's complement, 10 bytes, as protobuf does
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _feature_bytes(feature: Feature, value: np.ndarray) -> bytes:
    if feature.dtype == "float32":  # Feature.float_list (2) -> FloatList.value (1), packed
        body = _field(1, np.ascontiguousarray(value, "<f4").tobytes())
        return _field(2, body)
    packed = b"".join(_varint(int(v)) for v in np.ravel(value))  # Feature.int64_list (3)
    return _field(3, _field(1, packed))


def encode_examples(features: Sequence[Feature], rows: np.ndarray) -> list[bytes]:
    """Structured rows -> serialized `tf.Example`s, features flattened, in metadata order."""
    keys = [_field(1, f.name.encode()) for f in features]
    out = []
    for row in rows:
        entries = b"".join(
            _field(1, key + _field(2, _feature_bytes(f, row[f.name])))
            for key, f in zip(keys, features, strict=True)
        )
        out.append(_field(1, entries))
    return out


def decode_examples(features: Sequence[Feature], payloads: Sequence[bytes]) -> np.ndarray:
    """Serialized `tf.Example`s -> structured rows (uses the proto TFDS ships; no TensorFlow)."""
    from tensorflow_datasets.proto import tf_example_pb2

    rows = np.zeros(len(payloads), dtype=record_dtype(features))
    for i, payload in enumerate(payloads):
        example = tf_example_pb2.Example.FromString(payload)
        for f in features:
            feat = example.features.feature[f.name]
            values = feat.float_list.value if f.dtype == "float32" else feat.int64_list.value
            rows[i][f.name] = np.asarray(values).reshape(f.shape)
    return rows


# ---- metadata ---------------------------------------------------------------------------------
def shard_name(split: str, fmt: str, k: int, n: int) -> str:
    return f"{split}.{fmt}-{k:05d}-of-{n:05d}"


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
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {list(formats)}")
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
        "formats": list(formats),
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
    """Write metadata.json atomically (temp file, fsync, rename)."""
    path = Path(out_dir) / METADATA_FILE
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_metadata(out_dir: str | os.PathLike, *, require_complete: bool = True) -> dict[str, Any]:
    """Read and check a folder's metadata.json; raise a message naming the file and the field."""
    path = Path(out_dir) / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no metadata.json; not a dataset folder")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from e
    for key in ("format_version", "complete", "features", "shards", "num_examples", "split"):
        if key not in meta:
            raise ValueError(f"{path}: field {key!r} is missing")
    if meta["format_version"] != FORMAT_VERSION:
        raise ValueError(
            f"{path}: format_version {meta['format_version']!r}, expected {FORMAT_VERSION}"
        )
    if require_complete and meta["complete"] is not True:
        raise ValueError(f"{path}: the dataset is incomplete (complete=false); finish or rerun it")
    features_from_json(meta["features"])  # raises on a bad dtype
    return meta
