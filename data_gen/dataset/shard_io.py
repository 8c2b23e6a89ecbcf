"""Shard files: TFRecord framing (masked CRC32C), ArrayRecord, atomic completion, checked reads,
and the digests a shard's metadata entry records."""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path

import crc32c

from data_gen.dataset.schema import REGENERATE, DatasetError

ARRAY_RECORD_OPTIONS = "group_size:1,uncompressed"
TMP_SUFFIX = ".tmp"


def masked_crc32c(data: bytes) -> int:
    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame_tfrecord(payload: bytes) -> bytes:
    """`u64 len | u32 masked_crc32c(len) | data | u32 masked_crc32c(data)`, little-endian."""
    length = struct.pack("<Q", len(payload))
    return (
        length
        + struct.pack("<I", masked_crc32c(length))
        + payload
        + struct.pack("<I", masked_crc32c(payload))
    )


def read_tfrecord(path: str | os.PathLike) -> Iterator[bytes]:
    """Yield a TFRecord file's payloads, checking both CRCs; raise naming the file on damage."""
    with open(path, "rb") as f:
        offset = 0
        while True:
            header = f.read(12)
            if not header:
                return
            if len(header) < 12:
                raise DatasetError(f"{path}: truncated record header at byte {offset}")
            (length,) = struct.unpack("<Q", header[:8])
            if struct.unpack("<I", header[8:])[0] != masked_crc32c(header[:8]):
                raise DatasetError(f"{path}: corrupt length CRC at byte {offset}")
            body = f.read(length + 4)
            if len(body) < length + 4:
                raise DatasetError(f"{path}: truncated record at byte {offset}")
            payload = body[:length]
            if struct.unpack("<I", body[length:])[0] != masked_crc32c(payload):
                raise DatasetError(f"{path}: corrupt data CRC at byte {offset}")
            offset += 12 + length + 4
            yield payload


def read_tfrecord_at(path: str | os.PathLike, positions: Sequence[int]) -> tuple[int, list[bytes]]:
    """(record count, payloads at `positions`) of a TFRecord file: headers are read and their
    CRCs checked, the other records' bodies skipped (seek), the wanted ones CRC-checked."""
    wanted, found = set(positions), {}
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        offset = count = 0
        while offset < size:
            header = f.read(12)
            if len(header) < 12:
                raise DatasetError(f"{path}: truncated record header at byte {offset}")
            (length,) = struct.unpack("<Q", header[:8])
            if struct.unpack("<I", header[8:])[0] != masked_crc32c(header[:8]):
                raise DatasetError(f"{path}: corrupt length CRC at byte {offset}")
            if offset + 16 + length > size:
                raise DatasetError(f"{path}: truncated record at byte {offset}")
            if count in wanted:
                body = f.read(length + 4)
                if struct.unpack("<I", body[length:])[0] != masked_crc32c(body[:length]):
                    raise DatasetError(f"{path}: corrupt data CRC at byte {offset}")
                found[count] = body[:length]
            else:
                f.seek(length + 4, os.SEEK_CUR)
            offset += 16 + length
            count += 1
    return count, [found[p] for p in positions if p in found]


def count_array_records(path: str | os.PathLike) -> int:
    """Records in an ArrayRecord file (from its index: no data read); raises naming the file."""
    from array_record.python.array_record_module import ArrayRecordReader

    try:
        reader = ArrayRecordReader(str(path))
        try:
            return int(reader.num_records())
        finally:
            reader.close()
    except (RuntimeError, ValueError, OSError) as e:
        raise DatasetError(f"{path}: unreadable ArrayRecord shard ({_first_line(e)})") from e


def read_array_record(
    path: str | os.PathLike,
    expected: int | None = None,
    start: int = 0,
    stop: int | None = None,
) -> list[bytes]:
    """Records [start, stop) (default: all) of an ArrayRecord file, after its record count is
    checked against `expected`; errors name the file."""
    from array_record.python.array_record_module import ArrayRecordReader

    count = count_array_records(path)
    check_count(path, count, expected)
    stop = count if stop is None else stop
    try:
        reader = ArrayRecordReader(str(path))
        try:
            if (start, stop) == (0, count):
                return list(reader.read_all())
            return list(reader.read(start, stop))
        finally:
            reader.close()
    except (RuntimeError, ValueError, OSError) as e:
        raise DatasetError(f"{path}: damaged ArrayRecord shard ({_first_line(e)})") from e


def read_shard(path: str | os.PathLike, fmt: str, expected: int | None = None) -> list[bytes]:
    """A whole shard's payloads; with `expected`, its record count is checked before use."""
    if fmt == "array_record":
        return read_array_record(path, expected)
    payloads = list(read_tfrecord(path))
    check_count(path, len(payloads), expected)
    return payloads


def read_records_at(
    path: str | os.PathLike, fmt: str, positions: Sequence[int], expected: int | None = None
) -> list[bytes]:
    """The payloads at `positions` of a shard (no other record read), after its record count is
    checked against `expected`; errors name the file."""
    if fmt == "tfrecord":
        count, payloads = read_tfrecord_at(path, positions)
        check_count(path, count, expected)
        return payloads
    from array_record.python.array_record_module import ArrayRecordReader

    try:
        # One reader, no readahead: a few records are wanted, not the shard's first megabytes.
        reader = ArrayRecordReader(str(path), "readahead_buffer_size:0,max_parallelism:0")
        try:
            check_count(path, int(reader.num_records()), expected)
            return list(reader.read(list(positions))) if positions else []
        finally:
            reader.close()
    except DatasetError:
        raise
    except (RuntimeError, ValueError, OSError) as e:
        raise DatasetError(f"{path}: damaged ArrayRecord shard ({_first_line(e)})") from e


def end_positions(num_records: int) -> list[int]:
    """The records `ends_sha256` covers: the first and the last (fewer in tiny shards)."""
    return sorted({0, num_records - 1}) if num_records else []


def ends_sha256(payloads: Sequence[bytes]) -> str:
    """SHA-256 of records (each length-prefixed, so the split between them counts)."""
    h = hashlib.sha256()
    for p in payloads:
        h.update(struct.pack("<Q", len(p)))
        h.update(p)
    return h.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def check_count(path: str | os.PathLike, count: int, expected: int | None) -> None:
    if expected is not None and count != expected:
        raise DatasetError(
            f"{path}: {count} records, but the metadata says {expected}; the shard is truncated "
            f"or replaced: {REGENERATE}"
        )


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


class ShardFile:
    """One shard file written incrementally under `<path>.tmp`, renamed to `path` on commit.

    A file under its final name is therefore always complete; a crash leaves at most a `.tmp`
    (removed by the next run), and `discard()` removes it after an error.
    """

    def __init__(self, path: str | os.PathLike, fmt: str) -> None:
        self.path = Path(path)
        self.fmt = fmt
        self.tmp = self.path.with_name(self.path.name + TMP_SUFFIX)
        self.count = 0
        self.num_bytes: int | None = None  # set by commit(), with sha256
        self.sha256: str | None = None
        if fmt == "tfrecord":
            self._file = open(self.tmp, "wb")  # noqa: SIM115 (closed in commit/discard)
        elif fmt == "array_record":
            from array_record.python.array_record_module import ArrayRecordWriter

            self._writer = ArrayRecordWriter(str(self.tmp), ARRAY_RECORD_OPTIONS)
        else:
            raise ValueError(f"unknown shard format {fmt!r}")

    def write(self, payloads: Sequence[bytes]) -> None:
        try:
            if self.fmt == "tfrecord":
                self._file.write(b"".join(frame_tfrecord(p) for p in payloads))
            else:
                for p in payloads:
                    self._writer.write(p)
        except BaseException:
            self.discard()
            raise
        self.count += len(payloads)

    def commit(self) -> None:
        """Flush, fsync, take the file's size and SHA-256, and rename into place.

        The digest is read back from the closed file (ArrayRecord's bytes are its writer's), so
        it is of exactly what lands under the final name; a resumed run recomputes nothing.
        """
        try:
            if self.fmt == "tfrecord":
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
            else:
                self._writer.close()
                with open(self.tmp, "rb+") as f:
                    os.fsync(f.fileno())
            self.num_bytes, self.sha256 = os.path.getsize(self.tmp), file_sha256(self.tmp)
        except BaseException:
            self.discard()
            raise
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            if self.fmt == "tfrecord":
                self._file.close()
            else:
                self._writer.close()
        self.tmp.unlink(missing_ok=True)


def write_shard(path: str | os.PathLike, fmt: str, payloads: Sequence[bytes]) -> None:
    """Write a whole shard file atomically (see `ShardFile`)."""
    shard = ShardFile(path, fmt)
    shard.write(payloads)
    shard.commit()


def remove_stale_tmp(out_dir: str | os.PathLike) -> list[str]:
    """Delete `*.tmp` files and `.tfds-*` scratch folders a killed run left; return their names."""
    import shutil

    removed = []
    for p in Path(out_dir).glob("*" + TMP_SUFFIX):
        p.unlink()
        removed.append(p.name)
    for p in Path(out_dir).glob(".tfds-*"):
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p.name)
    return removed
