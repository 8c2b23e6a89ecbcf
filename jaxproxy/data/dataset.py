"""Opening a dataset folder through TFDS: checks against the config, batched and bulk reads."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from data_gen.dataset import checks, schema, shard_io
from data_gen.dataset.codec import ExampleCodec
from data_gen.dataset.schema import DatasetError

DEFAULT_FEATURES = ("params", "embedding")
STREAM_FORMAT = "array_record"  # the random-access format TFDS data sources read
_CHUNK = 16384  # records per bulk decode: amortises Python, bounds the scratch memory
_READ_THREADS = len(os.sched_getaffinity(0))

Batch = dict[str, np.ndarray]


class DatasetMismatchError(ValueError):
    """The dataset on disk is not the one the config asks for."""


class ProxyDataset:
    """One dataset folder (one synth x audio model x split): a TFDS dataset read as numpy arrays.

    Opening checks the metadata (`checks.read_metadata`: fingerprint, coverage, counts) and each
    shard read against its entry (`checks.check_shards`: size, record count, digest and indices
    of its first and last records), naming the shard, before any record is used; every batch
    read then has its indices checked against its shards' ranges (`checks.check_shard_indices`,
    the same check `inspect` makes).
    """

    def __init__(self, folder: str, metadata: Mapping[str, Any]):
        self.path = folder
        self.metadata = dict(metadata)
        self.features = {f.name: f for f in schema.features_from_json(metadata["features"])}
        self.codec = ExampleCodec(list(self.features.values()))
        self._cat_cols, self._cards = checks.categorical_columns(metadata["synth"])
        checks.check_shards(folder, self.metadata, self.formats[0])

    def __repr__(self) -> str:
        return (
            f"ProxyDataset({self.path!r}, synth={self.synth_name!r}, split={self.split!r}, "
            f"num_examples={self.num_examples}, formats={self.formats})"
        )

    # ---- what the metadata says ---------------------------------------------------------------
    @property
    def num_examples(self) -> int:
        return int(self.metadata["num_examples"])

    @property
    def split(self) -> str:
        return str(self.metadata["split"])

    @property
    def synth_name(self) -> str:
        return str(self.metadata["synth"].get("name"))

    @property
    def synth_spec_json(self) -> dict[str, Any]:
        return self.metadata["synth"]

    @property
    def synth_fingerprint(self) -> str:
        return str(self.metadata["synth_fingerprint"])

    @property
    def audio_model(self) -> dict[str, Any]:
        return self.metadata["audio_model"]

    @property
    def embedding_dim(self) -> int:
        return self.features["embedding"].shape[0]

    @property
    def num_params(self) -> int:
        return self.features["params"].shape[0]

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(self.features)

    @property
    def formats(self) -> tuple[str, ...]:
        return tuple(self.metadata["formats"])

    @functools.cached_property
    def layout(self):
        """The preset layout the encoders need (jaxproxy.models.layout.PresetLayout)."""
        from jaxproxy.models.layout import PresetLayout

        return PresetLayout.from_spec_json(self.synth_spec_json)

    def feature_shapes(self, names: Sequence[str]) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        return {n: (self._feature(n).shape, self._feature(n).np_dtype) for n in names}

    def nbytes(self, features: Sequence[str] = DEFAULT_FEATURES) -> int:
        """Host/device bytes the given features take for the whole set."""
        per_row = sum(self._feature(n).size * self._feature(n).np_dtype.itemsize for n in features)
        return self.num_examples * per_row

    def _feature(self, name: str) -> schema.Feature:
        if name not in self.features:
            raise DatasetError(f"{self.path}: no feature {name!r} (has {list(self.features)})")
        return self.features[name]

    def _shards(self, fmt: str) -> list[dict[str, Any]]:
        shards = [s for s in self.metadata["shards"] if s["format"] == fmt]
        return sorted(shards, key=lambda s: s["index_start"])

    # ---- reading --------------------------------------------------------------------------------
    def builder(self):
        """`tfds.builder_from_directory` on this folder."""
        import tensorflow_datasets as tfds

        return tfds.builder_from_directory(self.path)

    @functools.cached_property
    def data_source(self):
        """TFDS's random-access data source of raw records (decoded in batches by `read`)."""
        import tensorflow_datasets as tfds

        if STREAM_FORMAT not in self.formats:
            raise DatasetError(
                f"{self.path}: training reads ArrayRecord shards, this folder has {self.formats}; "
                "regenerate it with --formats array_record,tfrecord"
            )
        return self.builder().as_data_source(
            self.split,
            deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES,
            file_format=STREAM_FORMAT,
        )

    def read(self, positions: np.ndarray, features: Sequence[str] = DEFAULT_FEATURES) -> Batch:
        """Records at `positions` (example order) as arrays: one batched read, one bulk decode."""
        positions = np.asarray(positions)
        try:
            payloads = self.data_source.__getitems__(positions.tolist())
        except (RuntimeError, ValueError, OSError, IndexError) as e:
            raise DatasetError(self._damaged(positions, e)) from e
        try:
            batch = self._decode(payloads, features, self.path)
        except DatasetError as e:  # name the shards behind the batch, not only the folder
            files = ", ".join(os.path.basename(p) for p in self._shard_paths(positions))
            raise DatasetError(f"{e} (in {files})") from e
        shards, k_N, offset_N = self._locate(positions)
        touched, shard_N = np.unique(k_N, return_inverse=True)
        checks.check_shard_indices(
            self.path, [shards[k] for k in touched], offset_N, batch["index"], shard_N
        )
        return self._without_index(batch, features)

    def read_range(
        self, start: int, stop: int, features: Sequence[str] = DEFAULT_FEATURES
    ) -> Batch:
        """Records [start, stop) as arrays: the shards' row ranges read and bulk-decoded in
        parallel threads (the reads and numpy copies release the GIL)."""
        if not 0 <= start <= stop <= self.num_examples:
            raise IndexError(f"range [{start}, {stop}) outside [0, {self.num_examples})")
        shapes = self.feature_shapes(features)
        out = {n: np.empty((stop - start, *s), d) for n, (s, d) in shapes.items()}
        jobs, first = [], 0
        for shard in self._shards(self.formats[0]):
            lo, hi = max(start, first), min(stop, first + shard["num_examples"])
            if lo < hi:
                jobs.append((shard, lo - first, hi - first, lo - start))
            first += shard["num_examples"]

        def load(job) -> None:
            shard, lo, hi, at = job
            path = os.path.join(self.path, shard["file"])
            if shard["format"] == "array_record":
                payloads = shard_io.read_array_record(path, shard["num_examples"], lo, hi)
            else:
                payloads = shard_io.read_shard(path, "tfrecord", shard["num_examples"])[lo:hi]
            for c in range(0, hi - lo, _CHUNK):
                part = self._decode(payloads[c : c + _CHUNK], features, path)
                offsets = np.arange(lo + c, lo + c + len(part["index"]))
                checks.check_shard_indices(self.path, [shard], offsets, part["index"])
                for name, arr in self._without_index(part, features).items():
                    out[name][at + c : at + c + len(arr)] = arr

        with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), _READ_THREADS))) as pool:
            list(pool.map(load, jobs))  # list(): re-raise the first error
        return out

    def load_arrays(self, features: Sequence[str] = DEFAULT_FEATURES) -> Batch:
        """The whole set in host memory, one array per feature."""
        return self.read_range(0, self.num_examples, features)

    def _decode(self, payloads: Sequence[bytes], features: Sequence[str], where: str) -> Batch:
        """`features` and `index` (for the caller's index check: a few bytes per record)."""
        names = list(dict.fromkeys([*(self._feature(n).name for n in features), "index"]))
        arrays = self.codec.decode(payloads, names, where)
        if "params" in arrays:
            checks.check_categoricals(arrays["params"], self._cat_cols, self._cards, where)
        return arrays

    @staticmethod
    def _without_index(batch: Batch, features: Sequence[str]) -> Batch:
        return {n: a for n, a in batch.items() if n in features}

    @functools.cached_property
    def _stream_shards(self) -> tuple[list[dict[str, Any]], np.ndarray]:
        """(ArrayRecord shards in order, the position of each one's first record): per batch."""
        shards = self._shards(STREAM_FORMAT)
        return shards, np.cumsum([0] + [s["num_examples"] for s in shards])

    def _locate(self, positions: np.ndarray) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
        """(ArrayRecord shards, shard of each position, record offset in it); empty shards are
        skipped (a position lands in the last shard starting at or before it)."""
        shards, first = self._stream_shards
        k_N = np.clip(np.searchsorted(first, positions, side="right") - 1, 0, len(shards) - 1)
        return shards, k_N, positions - first[k_N]

    def _shard_paths(self, positions: np.ndarray) -> list[str]:
        """The ArrayRecord shard files holding the records at `positions`."""
        shards, k_N, _ = self._locate(positions)
        return [os.path.join(self.path, shards[k]["file"]) for k in np.unique(k_N)]

    def _damaged(self, positions: np.ndarray, error: BaseException) -> str:
        """Which shard a failed batched read touched (each is read alone to find it)."""
        for path in self._shard_paths(positions):
            try:
                shard_io.read_array_record(path)
            except DatasetError as e:
                return str(e)
        return f"{self.path}: reading records failed ({str(error).splitlines()[0][:200]})"


def _resolve_folder(path: str | os.PathLike, split: str | None) -> str:
    path = os.fspath(path)
    nested = os.path.join(path, split) if split else ""
    here = os.path.isfile(os.path.join(path, schema.METADATA_FILE))
    if nested and not here and os.path.isfile(os.path.join(nested, schema.METADATA_FILE)):
        return nested
    return path


def _expect(folder: str, field: str, actual: Any, expected: Any) -> None:
    if expected is not None and actual != expected:
        raise DatasetMismatchError(
            f"{folder}: field {field!r} is {actual!r} but the config expects {expected!r}; "
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
    folder = _resolve_folder(path, split)
    meta = checks.read_metadata(folder)
    _expect(folder, "split", meta["split"], split)
    _expect(folder, "synth.name", meta["synth"].get("name"), expect_synth)
    _expect(folder, "synth_fingerprint", meta["synth_fingerprint"], expect_synth_fingerprint)
    _expect(folder, "audio_model.name", meta["audio_model"].get("name"), expect_audio_model)
    emb_dim = meta["audio_model"].get("embedding_dim")
    _expect(folder, "audio_model.embedding_dim", emb_dim, expect_embedding_dim)
    num_params = schema.feature(meta, "params").shape[0]
    _expect(folder, "features.params.shape[0]", num_params, expect_num_params)
    return ProxyDataset(folder, meta)
