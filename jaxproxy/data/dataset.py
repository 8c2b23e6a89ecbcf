"""Opening a dataset folder: checks against the config, random and bulk reads as numpy arrays."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from jaxproxy.data import records
from jaxproxy.data.records import DatasetFormatError, Metadata

DEFAULT_FEATURES = ("params", "embedding")
_CHUNK = 8192  # records per bulk read: large enough to amortise Python, small enough for memory


class DatasetMismatchError(ValueError):
    """The dataset on disk is not the one the config asks for."""


class ProxyDataset:
    """One dataset folder (one synth x audio model x split), read as numpy arrays."""

    def __init__(self, metadata: Metadata):
        self.metadata = metadata
        self.path = metadata.folder
        for shard in metadata.shards:
            if not os.path.isfile(os.path.join(self.path, shard.file)):
                raise FileNotFoundError(
                    f"{metadata.path} lists shard {shard.file!r}, which is missing from {self.path}"
                )

    def __repr__(self) -> str:
        return (
            f"ProxyDataset({self.path!r}, synth={self.synth_name!r}, split={self.split!r}, "
            f"num_examples={self.num_examples}, formats={self.formats})"
        )

    # ---- what the metadata says ---------------------------------------------------------------
    @property
    def num_examples(self) -> int:
        return self.metadata.num_examples

    @property
    def split(self) -> str:
        return self.metadata.split

    @property
    def synth_name(self) -> str:
        return str(self.metadata.synth.get("name"))

    @property
    def synth_spec_json(self) -> dict[str, Any]:
        return self.metadata.synth

    @property
    def embedding_dim(self) -> int:
        return self.metadata.feature("embedding").shape[0]

    @property
    def num_params(self) -> int:
        return self.metadata.feature("params").shape[0]

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.metadata.features)

    @property
    def formats(self) -> tuple[str, ...]:
        return tuple(f for f in records.SHARD_FORMATS if self.metadata.shards_of(f))

    @functools.cached_property
    def layout(self):
        """The preset layout the encoders need (jaxproxy.models.layout.PresetLayout)."""
        from jaxproxy.models.layout import PresetLayout

        return PresetLayout.from_spec_json(self.metadata.synth)

    def nbytes(self, features: Sequence[str] = DEFAULT_FEATURES) -> int:
        """Host/device bytes the given features take for the whole set."""
        return self.num_examples * records.record_dtype(self._features(features)).itemsize

    # ---- reading --------------------------------------------------------------------------------
    def _features(self, names: Sequence[str]) -> list[records.Feature]:
        return [self.metadata.feature(n) for n in names]

    def shard_paths(self, fmt: str) -> list[str]:
        """Shard files of one format, in example order."""
        shards = sorted(self.metadata.shards_of(fmt), key=lambda s: s.index_start)
        if not shards:
            raise DatasetFormatError(
                f"{self.metadata.path}: no {fmt} shards (this dataset has {self.formats})"
            )
        return [os.path.join(self.path, s.file) for s in shards]

    def shard_sizes(self, fmt: str) -> list[int]:
        shards = sorted(self.metadata.shards_of(fmt), key=lambda s: s.index_start)
        return [s.num_examples for s in shards]

    @functools.cached_property
    def data_source(self):
        """A grain ArrayRecordDataSource over all ArrayRecord shards (position = example order)."""
        import grain

        source = grain.sources.ArrayRecordDataSource(self.shard_paths("array_record"))
        if len(source) != self.num_examples:
            raise DatasetFormatError(
                f"{self.path}: ArrayRecord shards hold {len(source)} records, "
                f"metadata says {self.num_examples}"
            )
        return source

    def read_rows(
        self, positions: np.ndarray, features: Sequence[str] = DEFAULT_FEATURES
    ) -> dict[str, np.ndarray]:
        """Random access to records by position (ArrayRecord): one batched read, one frombuffer."""
        payloads = self.data_source.__getitems__(np.asarray(positions).tolist())
        return records.decode_raw(payloads, self.metadata.record_dtype, features)

    def read_range(
        self, start: int, stop: int, features: Sequence[str] = DEFAULT_FEATURES
    ) -> dict[str, np.ndarray]:
        """Records [start, stop) as arrays, from ArrayRecord if present, else TFRecord."""
        if not 0 <= start <= stop <= self.num_examples:
            raise IndexError(f"range [{start}, {stop}) outside [0, {self.num_examples})")
        feats = self._features(features)
        out = {f.name: np.empty((stop - start, *f.shape), f.dtype) for f in feats}
        if "array_record" in self.formats:
            for lo in range(start, stop, _CHUNK):
                hi = min(lo + _CHUNK, stop)
                chunk = self.read_rows(np.arange(lo, hi), features)
                for name, arr in chunk.items():
                    out[name][lo - start : hi - start] = arr
            return out
        for lo, chunk in self.iter_tfrecord_chunks(start, stop, features):
            for name, arr in chunk.items():
                out[name][lo - start : lo - start + len(arr)] = arr
        return out

    def iter_tfrecord_chunks(self, start: int, stop: int, features: Sequence[str]):
        """Yields (position, arrays) for TFRecord records [start, stop), read sequentially."""
        feats = self._features(features)
        position, pending, pending_at = 0, [], start
        for path, size in zip(
            self.shard_paths("tfrecord"), self.shard_sizes("tfrecord"), strict=True
        ):
            if position + size <= start:
                position += size
                continue
            for _, payload in records.read_tfrecord(path):
                if position >= stop:
                    break
                if position >= start:
                    pending.append(payload)
                position += 1
                if len(pending) == _CHUNK:
                    yield pending_at, records.decode_tf_examples(pending, feats)
                    pending_at, pending = pending_at + len(pending), []
            if position >= stop:
                break
        if pending:
            yield pending_at, records.decode_tf_examples(pending, feats)

    def load_arrays(self, features: Sequence[str] = DEFAULT_FEATURES) -> dict[str, np.ndarray]:
        """The whole set in host memory, one array per feature."""
        return self.read_range(0, self.num_examples, features)


def _resolve_folder(path: str | os.PathLike, split: str | None) -> str:
    path = os.fspath(path)
    nested = os.path.join(path, split) if split else ""
    here = os.path.isfile(os.path.join(path, records.METADATA_FILE))
    if nested and not here and os.path.isfile(os.path.join(nested, records.METADATA_FILE)):
        return nested
    return path


def _expect(meta: Metadata, field: str, actual: Any, expected: Any) -> None:
    if expected is not None and actual != expected:
        raise DatasetMismatchError(
            f"{meta.path}: field {field!r} is {actual!r} but the config expects {expected!r}; "
            "point the config at the matching dataset or regenerate it"
        )


def open_dataset(
    path: str | os.PathLike,
    *,
    expect_synth: str | None = None,
    expect_synth_fingerprint: str | None = None,
    expect_audio_model: str | None = None,
    expect_embedding_dim: int | None = None,
    expect_num_params: int | None = None,
    split: str | None = None,
) -> ProxyDataset:
    """Opens a dataset folder (or `path/split`), refusing one that does not match expectations."""
    meta = records.read_metadata(_resolve_folder(path, split))
    _expect(meta, "split", meta.split, split)
    _expect(meta, "synth.name", meta.synth.get("name"), expect_synth)
    _expect(meta, "synth_fingerprint", meta.synth_fingerprint, expect_synth_fingerprint)
    _expect(meta, "audio_model.name", meta.audio_model.get("name"), expect_audio_model)
    _expect(
        meta,
        "audio_model.embedding_dim",
        meta.audio_model.get("embedding_dim"),
        expect_embedding_dim,
    )
    if expect_num_params is not None:
        _expect(
            meta, "features.params.shape[0]", meta.feature("params").shape[0], expect_num_params
        )
    return ProxyDataset(meta)
