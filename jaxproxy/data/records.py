"""The dataset schema on the jaxproxy side: metadata.json, raw and tf.Example records, TFRecords."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import struct
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import crc32c
import numpy as np

FORMAT_VERSION = 1
METADATA_FILE = "metadata.json"
SHARD_FORMATS = ("array_record", "tfrecord")
_REQUIRED_KEYS = (
    "format_version",
    "complete",
    "synth",
    "synth_fingerprint",
    "audio_model",
    "split",
    "num_examples",
    "features",
    "shards",
)
# Feature dtypes a record may hold; anything else is refused rather than misread.
_DTYPES = ("float32", "float16", "float64", "int64", "int32", "int16", "uint8", "bool")


class DatasetFormatError(ValueError):
    """A dataset folder or record does not follow the contract; the message names file and field."""


@dataclasses.dataclass(frozen=True)
class Feature:
    """One per-example feature: little-endian `dtype` values of `shape` (row-major)."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def is_float(self) -> bool:
        return self.dtype.kind == "f"


@dataclasses.dataclass(frozen=True)
class Shard:
    """One shard file with the example-index range it covers."""

    file: str
    format: str
    index_start: int
    index_end: int
    num_examples: int


@dataclasses.dataclass(frozen=True)
class Metadata:
    """A validated metadata.json; `raw` keeps every field, including ones this reader ignores."""

    path: str  # the metadata.json file
    raw: dict[str, Any]
    features: tuple[Feature, ...]
    shards: tuple[Shard, ...]

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)

    @property
    def num_examples(self) -> int:
        return int(self.raw["num_examples"])

    @property
    def split(self) -> str:
        return str(self.raw["split"])

    @property
    def synth(self) -> dict[str, Any]:
        return self.raw["synth"]

    @property
    def synth_fingerprint(self) -> str:
        return str(self.raw["synth_fingerprint"])

    @property
    def audio_model(self) -> dict[str, Any]:
        return self.raw["audio_model"]

    @property
    def record_dtype(self) -> np.dtype:
        return record_dtype(self.features)

    def feature(self, name: str) -> Feature:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise DatasetFormatError(
            f"{self.path}: no feature {name!r} in 'features' "
            f"(has {[f.name for f in self.features]})"
        )

    def shards_of(self, fmt: str) -> tuple[Shard, ...]:
        return tuple(s for s in self.shards if s.format == fmt)


def _fail(path: str, field: str, message: str) -> DatasetFormatError:
    return DatasetFormatError(f"{path}: field {field!r}: {message}")


def _parse_feature(path: str, i: int, entry: Any) -> Feature:
    field = f"features[{i}]"
    if not isinstance(entry, Mapping) or not {"name", "dtype", "shape"} <= set(entry):
        raise _fail(path, field, f"expected {{'name', 'dtype', 'shape'}}, got {entry!r}")
    if entry["dtype"] not in _DTYPES:
        raise _fail(path, f"{field}.dtype", f"expected one of {_DTYPES}, got {entry['dtype']!r}")
    shape = entry["shape"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise _fail(path, f"{field}.shape", f"expected a list of sizes >= 0, got {shape!r}")
    dtype = np.dtype(entry["dtype"]).newbyteorder("<")
    return Feature(str(entry["name"]), dtype, tuple(shape))


def _parse_shard(path: str, i: int, entry: Any) -> Shard:
    field = f"shards[{i}]"
    keys = ("file", "format", "index_start", "index_end", "num_examples")
    if not isinstance(entry, Mapping) or not set(keys) <= set(entry):
        raise _fail(path, field, f"expected keys {keys}, got {entry!r}")
    if entry["format"] not in SHARD_FORMATS:
        raise _fail(path, f"{field}.format", f"expected one of {SHARD_FORMATS}")
    return Shard(*(entry[k] for k in keys))


def parse_metadata(raw: dict[str, Any], path: str) -> Metadata:
    """Validates a metadata dict read from `path`; raises DatasetFormatError naming the field."""
    if not isinstance(raw, dict):
        raise DatasetFormatError(f"{path}: expected a JSON object, got {type(raw).__name__}")
    if raw.get("format_version") != FORMAT_VERSION:
        raise _fail(
            path,
            "format_version",
            f"this reader reads format_version {FORMAT_VERSION}, got {raw.get('format_version')!r}",
        )
    missing = [k for k in _REQUIRED_KEYS if k not in raw]
    if missing:
        raise DatasetFormatError(f"{path}: missing fields {missing}")
    if raw["complete"] is not True:
        raise _fail(
            path,
            "complete",
            "the dataset is incomplete (generation did not finish); rerun the generation command "
            "to complete it",
        )
    features = tuple(_parse_feature(path, i, e) for i, e in enumerate(raw["features"]))
    names = [f.name for f in features]
    if len(set(names)) != len(names):
        raise _fail(path, "features", f"duplicate feature names in {names}")
    shards = tuple(_parse_shard(path, i, e) for i, e in enumerate(raw["shards"]))
    for fmt in SHARD_FORMATS:
        total = sum(s.num_examples for s in shards if s.format == fmt)
        if total and total != raw["num_examples"]:
            raise _fail(
                path,
                "shards",
                f"{fmt} shards hold {total} examples but num_examples is {raw['num_examples']}",
            )
    if not shards:
        raise _fail(path, "shards", "no shard files listed")
    meta = Metadata(path=path, raw=raw, features=features, shards=shards)
    emb_dim = raw["audio_model"].get("embedding_dim")
    if "embedding" in names and meta.feature("embedding").shape != (emb_dim,):
        raise _fail(
            path,
            "features.embedding.shape",
            f"expected [audio_model.embedding_dim] = [{emb_dim}], "
            f"got {list(meta.feature('embedding').shape)}",
        )
    synth_params = raw["synth"].get("params", []) if isinstance(raw["synth"], dict) else []
    num_used = sum(1 for p in synth_params if p.get("used", True))
    if "params" in names and meta.feature("params").shape != (num_used,):
        raise _fail(
            path,
            "features.params.shape",
            f"expected [number of used synth parameters] = [{num_used}], "
            f"got {list(meta.feature('params').shape)}",
        )
    return meta


def read_metadata(folder: str | os.PathLike) -> Metadata:
    """Reads and validates `folder/metadata.json`."""
    path = os.path.join(os.fspath(folder), METADATA_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} not found: {folder} is not a dataset folder (expected the metadata.json "
            "that data_gen's dataset writer leaves beside the shards)"
        )
    try:
        with open(path) as f:
            raw = json.load(f)
    except json.JSONDecodeError as e:
        raise DatasetFormatError(f"{path}: not valid JSON ({e})") from e
    return parse_metadata(raw, path)


def record_dtype(features: Sequence[Feature]) -> np.dtype:
    """The packed structured dtype of one raw record: features concatenated in metadata order."""
    return np.dtype([(f.name, f.dtype, f.shape) for f in features])


def decode_raw(
    payloads: Sequence[bytes], dtype: np.dtype, names: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Decodes raw records (rows of `dtype`) into contiguous arrays with one frombuffer."""
    buffer = b"".join(payloads)
    if len(buffer) != len(payloads) * dtype.itemsize:
        sizes = sorted({len(p) for p in payloads})
        raise DatasetFormatError(
            f"raw records must be {dtype.itemsize} bytes each (the metadata features), "
            f"got sizes {sizes[:5]}"
        )
    rows = np.frombuffer(buffer, dtype=dtype)
    names = dtype.names if names is None else names
    return {n: np.ascontiguousarray(rows[n], dtype=rows[n].dtype.newbyteorder("=")) for n in names}


def _example_module():
    # Lazy: pulls in tensorflow_datasets' package init (~0.3 s), needed only for TFRecord.
    from tensorflow_datasets.proto import tf_example_pb2

    return tf_example_pb2


def decode_tf_examples(
    payloads: Sequence[bytes], features: Sequence[Feature]
) -> dict[str, np.ndarray]:
    """Decodes serialized tf.Example records into one array per feature (float_list/int64_list).

    Float lists leave protobuf as packed bytes (re-serializing a FloatList is ~0.3 us, converting
    its values to numpy ~0.1 us each) and become one frombuffer per feature per call.
    """
    example_cls = _example_module().Example
    n = len(payloads)
    packed = {f.name: [] for f in features if f.is_float}
    ints = {f.name: np.empty((n, f.size), np.int64) for f in features if not f.is_float}
    # Hoisted out of the record loop: Feature.size calls np.prod (~µs each).
    specs = [(f.name, f.is_float, f.size) for f in features]
    for i, payload in enumerate(payloads):
        fmap = example_cls.FromString(payload).features.feature
        for name, is_float, size in specs:
            entry = fmap[name]  # a missing feature reads as empty and fails the size check
            values = entry.float_list.value if is_float else entry.int64_list.value
            if len(values) != size:
                raise DatasetFormatError(
                    f"tf.Example record {i}, feature {name!r}: expected {size} values, "
                    f"got {len(values)}"
                )
            if is_float:
                # Serialized FloatList = tag, varint length, then the little-endian float32s.
                data = entry.float_list.SerializeToString()
                packed[name].append(data[len(data) - 4 * size :])
            else:
                ints[name][i] = values
    out = {}
    for f in features:
        flat = np.frombuffer(b"".join(packed[f.name]), "<f4") if f.is_float else ints[f.name]
        out[f.name] = flat.astype(f.dtype.newbyteorder("=")).reshape(n, *f.shape)
    return out


def encode_tf_example(row: Mapping[str, np.ndarray], features: Sequence[Feature]) -> bytes:
    """Serializes one example as a tf.Example (data_gen owns the writer; tests use this)."""
    module = _example_module()
    example = module.Example()
    for f in features:
        flat = np.asarray(row[f.name]).reshape(-1)
        entry = example.features.feature[f.name]
        target = entry.float_list.value if f.is_float else entry.int64_list.value
        target.extend(flat.tolist())
    return example.SerializeToString()


# ---- TFRecord framing: u64 length | u32 masked crc(length) | data | u32 masked crc(data) --------
_MASK_DELTA = 0xA282EAD8


def masked_crc32c(data: bytes) -> int:
    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame_tfrecord(data: bytes) -> bytes:
    """One TFRecord frame around `data`."""
    length = struct.pack("<Q", len(data))
    return b"".join(
        (
            length,
            struct.pack("<I", masked_crc32c(length)),
            data,
            struct.pack("<I", masked_crc32c(data)),
        )
    )


def read_tfrecord(path: str, offset: int = 0) -> Iterator[tuple[int, bytes]]:
    """Yields (offset of the next record, payload) from byte `offset`, checking both CRCs."""
    with open(path, "rb") as f:
        f.seek(offset)
        while True:
            header = f.read(12)
            if not header:
                return
            where = f"{path}: record at byte {offset}"
            if len(header) < 12:
                raise DatasetFormatError(f"{where}: truncated header")
            length, length_crc = struct.unpack("<QI", header)
            if masked_crc32c(header[:8]) != length_crc:
                raise DatasetFormatError(f"{where}: length CRC mismatch (corrupted file)")
            data = f.read(length)
            footer = f.read(4)
            if len(data) < length or len(footer) < 4:
                raise DatasetFormatError(f"{where}: truncated record")
            if masked_crc32c(data) != struct.unpack("<I", footer)[0]:
                raise DatasetFormatError(f"{where}: data CRC mismatch (corrupted file)")
            offset += 16 + length
            yield offset, data
