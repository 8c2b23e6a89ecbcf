"""Records as `tf.Example`s: encoded by TFDS's serializer, decoded in bulk with numpy.

Every record of a dataset has the same features and shapes, and the serializer writes map keys
in sorted order (`deterministic=True`), so records of equal length share one byte layout: only
the float payloads and the `index` varint differ. `ExampleCodec.decode` learns that layout once
per record length from TFDS's own encoding of probe values, checks every record's fixed bytes
against it, then slices the payloads out of a [records, bytes] matrix. Records that do not fit
(another writer's field order) are decoded one by one by TFDS.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence

import numpy as np

from data_gen.dataset.schema import DatasetError, Feature


@dataclasses.dataclass(frozen=True)
class _Layout:
    """Byte spans of each feature in records of one length, and the bytes all records share."""

    spans: dict[str, tuple[int, int]]  # name -> (start, stop); for `index`, the varint bytes
    fixed_cols: np.ndarray  # byte positions outside every span
    fixed_bytes: np.ndarray  # their values


class ExampleCodec:
    """Encode batches of named arrays to serialized `tf.Example`s and back (no TensorFlow)."""

    def __init__(self, features: Sequence[Feature]) -> None:
        self.features = list(features)
        self._by_name = {f.name: f for f in self.features}
        self._layouts: dict[int, _Layout | None] = {}
        ints = [f for f in self.features if f.dtype == "int64"]
        self._vectorised = all(f.shape == () for f in ints)

    @functools.cached_property
    def _tfds(self):
        from tensorflow_datasets.core import example_serializer

        from data_gen.dataset.schema import tfds_features

        feats = tfds_features(self.features)
        return feats, example_serializer.ExampleSerializer(feats.get_serialized_info())

    # ---- encoding -----------------------------------------------------------------------------
    def encode_one(self, example: Mapping[str, np.ndarray]) -> bytes:
        feats, serializer = self._tfds
        proto = serializer.get_tf_example(feats.encode_example(dict(example)))
        return proto.SerializeToString(deterministic=True)

    def encode(self, batch: Mapping[str, np.ndarray]) -> list[bytes]:
        """A batch dict of [B, ...] arrays -> B serialized records."""
        n = len(batch["index"])
        return [
            self.encode_one({f.name: batch[f.name][i] for f in self.features}) for i in range(n)
        ]

    # ---- decoding -----------------------------------------------------------------------------
    def decode(self, payloads: Sequence[bytes], names: Sequence[str] | None = None,
               where: str = "records") -> dict[str, np.ndarray]:  # fmt: skip
        """Serialized records -> {name: [N, ...] array} for `names` (default: all features)."""
        names = [f.name for f in self.features] if names is None else list(names)
        feats = self._by_name
        out = {n: np.empty((len(payloads), *feats[n].shape), feats[n].np_dtype) for n in names}
        if not payloads:
            return out
        if self._vectorised:  # usually every record has one length: one matrix, no grouping
            joined, width = b"".join(payloads), len(payloads[0])
            layout = self._layout(width, payloads[0], where)
            if layout is not None and len(joined) == width * len(payloads):
                mat = np.frombuffer(joined, np.uint8).reshape(len(payloads), width)
                parts, ok = self._decode_fast(mat, layout, names)
                if ok.all():  # else lengths differ (rows misaligned): decode by length below
                    return parts
        lengths = np.fromiter(map(len, payloads), np.int64, len(payloads))
        for length in np.unique(lengths):
            rows = np.flatnonzero(lengths == length)
            group = [payloads[i] for i in rows] if len(rows) < len(payloads) else payloads
            layout = self._layout(int(length), group[0], where) if self._vectorised else None
            if layout is None:
                parts = self._decode_slow(group, names, where)
            else:
                mat = np.frombuffer(b"".join(group), np.uint8).reshape(len(group), int(length))
                parts, ok = self._decode_fast(mat, layout, names)
                if not ok.all():  # not our layout after all: TFDS decodes those records
                    bad = np.flatnonzero(~ok)
                    slow = self._decode_slow([group[i] for i in bad], names, where)
                    for n in names:
                        parts[n][bad] = slow[n]
            for n in names:
                out[n][rows] = parts[n]
        return out

    def _decode_fast(self, mat, layout: _Layout, names) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Slice the features out of a [records, bytes] matrix; also whether each row fits."""
        ok = (mat[:, layout.fixed_cols] == layout.fixed_bytes).all(axis=1)
        parts = {}
        for name in names:
            feature = self._by_name[name]
            lo, hi = layout.spans[name]
            if feature.dtype == "int64":
                parts[name], well_formed = _decode_varints(mat[:, lo:hi])
                ok &= well_formed
            else:  # one copy of the columns; '<f4' is float32 on little-endian hosts
                flat = np.ascontiguousarray(mat[:, lo:hi]).view("<f4")
                parts[name] = flat.reshape(len(mat), *feature.shape)
        return parts, ok

    def _decode_slow(self, group, names, where) -> dict[str, np.ndarray]:
        feats, _ = self._tfds
        decoded = []
        for payload in group:
            try:
                decoded.append(feats.deserialize_example_np(payload))
            except Exception as e:  # noqa: BLE001 (protobuf raises several types)
                raise DatasetError(f"{where}: {self._describe_bad(payload, e)}") from e
        by_name = {f.name: f for f in self.features}
        out = {}
        for n in names:
            try:
                out[n] = np.stack([np.asarray(d[n]) for d in decoded]).astype(by_name[n].np_dtype)
                out[n] = out[n].reshape(len(group), *by_name[n].shape)
            except (KeyError, ValueError) as e:
                raise DatasetError(
                    f"{where}: feature {n!r} does not have shape {list(by_name[n].shape)} ({e})"
                ) from e
        return out

    def _describe_bad(self, payload: bytes, error: Exception) -> str:
        """Which feature of a record disagrees with the metadata's `features`, if it parses."""
        from tensorflow_datasets.proto import tf_example_pb2

        try:
            found = tf_example_pb2.Example.FromString(payload).features.feature
        except Exception:  # noqa: BLE001
            return f"a record is not a valid tf.Example ({str(error)[:120]})"
        for f in self.features:
            entry = found.get(f.name)
            values = None if entry is None else entry.WhichOneof("kind")
            count = 0 if values is None else len(getattr(entry, values).value)
            if count != f.size:
                return (
                    f"feature {f.name!r} of a record holds {count} values, but field "
                    f"'features.{f.name}' of the metadata says shape {list(f.shape)}"
                )
        return f"a record does not match the metadata's features ({str(error)[:120]})"

    def _layout(self, length: int, sample: bytes, where: str) -> _Layout | None:
        if length not in self._layouts:
            self._layouts[length] = self._learn_layout(length, sample, where)
        return self._layouts[length]

    def _learn_layout(self, length: int, sample: bytes, where: str) -> _Layout | None:
        """Find each feature's bytes by re-encoding the sample with distinct probe values."""
        values = self._decode_slow([sample], [f.name for f in self.features], where)
        example = {n: v[0] for n, v in values.items()}
        if self.encode_one(example) != sample:
            return None  # another writer's byte order: decode with TFDS
        probe, spans = dict(example), {}
        for j, f in enumerate(self.features):
            if (
                f.dtype == "float32"
            ):  # normal floats with unique bit patterns: exact through protobuf
                bits = np.uint32(0x3F000000 + (j << 16)) + np.arange(f.size, dtype=np.uint32)
                probe[f.name] = bits.view(np.float32).reshape(f.shape)
        encoded = self.encode_one(probe)
        for f in self.features:
            if f.dtype == "float32":
                needle = np.asarray(probe[f.name], "<f4").tobytes()
                at = encoded.find(needle)
                if at < 0 or encoded.find(needle, at + 1) >= 0:
                    return None
                spans[f.name] = (at, at + len(needle))
            else:  # flipping bit 0 changes only the varint's first byte, not its length
                value = int(example[f.name])
                if value < 0:
                    return None
                flipped = self.encode_one({**probe, f.name: value ^ 1})
                diff = np.flatnonzero(
                    np.frombuffer(flipped, np.uint8) != np.frombuffer(encoded, np.uint8)
                )
                width = max(1, -(-value.bit_length() // 7))
                spans[f.name] = (int(diff[0]), int(diff[0]) + width)
        if len(encoded) != length:
            return None
        mask = np.ones(length, bool)
        for lo, hi in spans.values():
            mask[lo:hi] = False
        cols = np.flatnonzero(mask)
        return _Layout(spans, cols, np.frombuffer(sample, np.uint8)[cols].copy())


def _decode_varints(cols_NxK: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-width base-128 varints (all K bytes long) -> (int64 values, well-formed mask)."""
    k = cols_NxK.shape[1]
    cont = cols_NxK & 0x80
    ok = (cont[:, : k - 1] != 0).all(axis=1) & (cont[:, k - 1] == 0)
    if k > 1:
        ok &= cols_NxK[:, k - 1] != 0  # a minimal encoding has no zero top byte
    shifts = np.arange(k, dtype=np.uint64) * np.uint64(7)
    values = ((cols_NxK & 0x7F).astype(np.uint64) << shifts).sum(axis=1, dtype=np.uint64)
    return values.view(np.int64), ok
