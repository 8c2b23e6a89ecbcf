"""DatasetWriter: index-ordered examples -> atomic shards + metadata, in a background thread."""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.cli_support.folder_lock import LOCK_FILE, FolderBusyError, FolderLock
from data_gen.dataset import checks, schema, shard_io
from data_gen.dataset.codec import ExampleCodec


class ShardGroup:
    """Shard k (indices [lo, hi)) in every format of `meta`, written incrementally as rows arrive
    (memory stays bounded even with `audio`/`mel` features); `commit()` renames the files into
    place and returns their metadata entries, with each file's digests (`checks.check_shard`)."""

    def __init__(self, out_dir: str | os.PathLike, meta: Mapping[str, Any], k: int, lo: int,
                 hi: int) -> None:  # fmt: skip
        self.features = schema.features_from_json(meta["features"])
        self.codec = ExampleCodec(self.features)
        self.lo, self.hi = lo, hi
        self.num_examples = 0
        self._first = self._last = b""  # the records `ends_sha256` covers
        n = schema.num_shards(meta)
        names = [schema.shard_name(meta, fmt, k, n) for fmt in meta["formats"]]
        self.files: list[shard_io.ShardFile] = []
        with self._naming_errors(names[0]):
            for name, fmt in zip(names, meta["formats"], strict=True):
                self.files.append(shard_io.ShardFile(Path(out_dir) / name, fmt))

    @contextlib.contextmanager
    def _naming_errors(self, name: str) -> Iterator[None]:
        try:
            yield
        except OSError as e:
            self.discard()
            raise OSError(f"shard {name}: {e}") from e

    def write(self, rows: np.ndarray) -> None:
        payloads = self.codec.encode({f.name: rows[f.name] for f in self.features})
        for f in self.files:  # every format holds the same tf.Example records
            with self._naming_errors(f.path.name):
                f.write(payloads)
        if payloads:
            self._first = payloads[0] if not self.num_examples else self._first
            self._last = payloads[-1]
        self.num_examples += len(rows)

    def commit(self) -> list[dict[str, Any]]:
        for f in self.files:
            with self._naming_errors(f.path.name):
                f.commit()
        ends = [self._first, self._last][: min(self.num_examples, 2)]  # as `end_positions`
        return [
            {"file": f.path.name, "format": f.fmt, "index_start": self.lo,
             "index_end": self.hi, "num_examples": self.num_examples, "num_bytes": f.num_bytes,
             "sha256": f.sha256, "ends_sha256": shard_io.ends_sha256(ends)}
            for f in self.files
        ]  # fmt: skip

    def discard(self) -> None:
        for f in self.files:
            f.discard()


class DatasetWriteError(RuntimeError):
    """Writing a shard or the metadata failed; completed shards are intact."""


class DatasetWriter:
    """Writes the examples of `metadata`'s index range into shards of `shard_size` indices.

    Shard k holds indices [index_start + k*shard_size, ...). Callers pass examples and failed
    indices in increasing index order, as one contiguous run (`next_index` is the next expected
    index); a shard is complete (files renamed into place, then metadata.json rewritten) as soon
    as its whole range is covered. Opening a folder that already holds the same dataset resumes
    after its last complete shard; a folder holding anything else is refused. Encoding and file
    writes happen in a thread so the caller keeps rendering.
    """

    def __init__(
        self, out_dir: str | os.PathLike, metadata: Mapping[str, Any], queue_size: int = 4
    ) -> None:
        self.out_dir = Path(out_dir)
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._lock = FolderLock(self.out_dir)
        except FolderBusyError as e:
            raise DatasetWriteError(str(e)) from e
        except OSError as e:  # a file in the way, no permission, read-only file system
            raise DatasetWriteError(
                f"{self.out_dir}: cannot write a dataset folder here ({e.strerror or e})"
            ) from e
        self.meta = self._open(dict(metadata))
        self.features = schema.features_from_json(self.meta["features"])
        self._start, self._end = self.meta["index_start"], self.meta["index_end"]
        self._size = self.meta["shard_size"]
        self.num_shards = -(-(self._end - self._start) // self._size)
        done = len({(s["index_start"]) for s in self.meta["shards"]})
        self.resumed_from = self.next_index = min(self._start + done * self._size, self._end)
        self._shard = done
        self._group: ShardGroup | None = None
        self._failed: list[int] = []
        self._rejected = 0
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="dataset-writer", daemon=True)
        self._thread.start()

    # ---- opening / resuming -------------------------------------------------------------------
    def _open(self, wanted: dict[str, Any]) -> dict[str, Any]:
        path = self.out_dir / schema.METADATA_FILE
        if path.exists():
            found = checks.read_metadata(self.out_dir, require_complete=False)
            diffs = schema.identity_mismatches(found, wanted)
            if diffs:
                raise DatasetWriteError(
                    f"{self.out_dir} already holds a different dataset; differing: "
                    f"{'; '.join(diffs)}. Use another --out folder (or delete this one)."
                )
            shard_io.remove_stale_tmp(self.out_dir)
            if found["complete"] and not (self.out_dir / schema.DATASET_INFO_FILE).is_file():
                schema.write_dataset_info(self.out_dir, found)  # a kill hit the last step
            return found
        others = [
            p.name
            for p in self.out_dir.iterdir()
            if p.name != LOCK_FILE
            and not p.name.endswith(shard_io.TMP_SUFFIX)
            and not p.name.startswith(".tfds-")
        ]
        if others:
            raise DatasetWriteError(
                f"{self.out_dir} is not empty ({', '.join(sorted(others)[:5])}) and holds no "
                f"{schema.METADATA_FILE}; refusing to write a dataset into it"
            )
        shard_io.remove_stale_tmp(self.out_dir)
        self._save(wanted)
        return wanted

    @property
    def complete(self) -> bool:
        return bool(self.meta["complete"])

    # ---- caller side --------------------------------------------------------------------------
    def write_batch(
        self,
        examples: Mapping[str, np.ndarray] | None,
        failed_indices: Iterable[int] = (),
        num_rejected: Mapping[int, int] | None = None,
    ) -> None:
        """Queue examples (a dict of [B, ...] arrays with `index`, or None) and failed indices.

        `num_rejected` maps an index to the presets the RMS filter rejected before it; it is
        counted into the metadata when that index's shard completes.
        """
        self._raise_if_failed()
        rows = (
            schema.to_rows(self.features, examples)
            if examples is not None
            else np.zeros(0, schema.record_dtype(self.features))
        )
        failed = sorted(int(i) for i in failed_indices)
        covered = sorted([*rows["index"].tolist(), *failed])
        expected = list(range(self.next_index, self.next_index + len(covered)))
        if covered != expected or covered and covered[-1] >= self._end:
            raise ValueError(
                f"write_batch: indices must continue the run at {self.next_index} without gaps "
                f"or repeats, within [{self._start}, {self._end}); got {covered[:3]}..."
            )
        self.next_index += len(covered)
        self._put(("batch", rows, failed, dict(num_rejected or {})))

    def close(self) -> dict[str, Any]:
        """Flush, finish the last shard and mark the dataset complete when its range is covered."""
        try:
            if self._thread.is_alive():
                self._put(("close", None, None, None))
                self._thread.join()
            self._raise_if_failed()
            return self.meta
        finally:
            self._lock.release()

    def abort(self) -> None:
        """Stop without completing (e.g. on Ctrl-C): completed shards stay, the rest is redone."""
        if self._thread.is_alive():
            self._queue.put(("abort", None, None, None))
            self._thread.join()
        self._lock.release()

    def _put(self, item: tuple) -> None:
        while True:
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise DatasetWriteError(
                f"writing {self.out_dir} failed: {self._error}. The {self._shard} completed "
                f"shard(s) and metadata.json are intact; fix the cause (disk space, "
                f"permissions) and rerun the same command to resume."
            ) from self._error

    # ---- writer thread ------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            kind, rows, failed, rejected = self._queue.get()
            if kind == "abort" or self._error is not None:
                if kind in ("abort", "close"):
                    if self._group is not None:  # a partial shard: its .tmp files go
                        self._group.discard()
                    return
                continue
            try:
                if kind == "close":
                    self._finish()
                    return
                self._absorb(rows, failed, rejected)
            except BaseException as e:  # noqa: BLE001 (reported to the caller)
                self._error = e

    def _absorb(self, rows: np.ndarray, failed: list[int], rejected: dict[int, int]) -> None:
        while self._shard < self.num_shards:
            lo = self._start + self._shard * self._size
            hi = min(lo + self._size, self._end)
            if self._group is None:
                self._group = ShardGroup(self.out_dir, self.meta, self._shard, lo, hi)
            in_shard = rows["index"] < hi
            if in_shard.any():
                self._group.write(rows[in_shard])
            self._failed += [i for i in failed if i < hi]
            self._rejected += sum(n for i, n in rejected.items() if lo <= i < hi)
            rows, failed = rows[~in_shard], [i for i in failed if i >= hi]
            if self._group.num_examples + len(self._failed) < hi - lo:
                return
            self._complete_shard()

    def _complete_shard(self) -> None:
        group, self._group = self._group, None
        entries = group.commit()
        meta = dict(self.meta)
        meta["shards"] = [*meta["shards"], *entries]
        meta["num_examples"] += group.num_examples
        meta["failed_indices"] = [*meta["failed_indices"], *self._failed]
        meta["num_rejected"] += self._rejected
        self._save(meta)
        self.meta = meta
        self._shard += 1
        self._failed, self._rejected = [], 0

    def _finish(self) -> None:
        if self._shard < self.num_shards:
            return  # an unfinished range: stays incomplete, a rerun resumes
        if not self.meta["complete"]:
            meta = {**self.meta, "complete": True}
            checks.check_metadata(meta, str(self.out_dir))
            schema.write_dataset_info(self.out_dir, meta)  # TFDS files, metadata.json complete
            self.meta = meta

    def _save(self, meta: Mapping[str, Any]) -> None:
        schema.write_metadata(self.out_dir, meta)
