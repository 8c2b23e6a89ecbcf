"""One writer per folder: an exclusive lock that names its holder (both halves use it, stdlib only).

`jaxproxy-data generate` holds it on its output folder and `jaxproxy train` on its workdir. The
lock is `flock` on a file in the folder, so the kernel drops it when the holder exits for any
reason (kill -9 included): a lock left by a dead process is free at once, nothing to clean up.
The file's text says who holds it (pid, host, command, start), for the refusal of a second run.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
import time
from pathlib import Path

LOCK_FILE = ".lock"


class FolderBusyError(OSError):
    """Another live process holds the folder's lock; str() names the folder and that process."""


class FolderLock:
    """Holds `folder/name` locked from construction until `release()` (or process exit)."""

    def __init__(self, folder: str | os.PathLike, name: str = LOCK_FILE) -> None:
        self.path = Path(folder) / name
        self._file = open(self.path, "a+")  # noqa: SIM115 (held while locked)
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.seek(0)
            holder = self._file.read().strip() or "another process"
            self._file.close()
            raise FolderBusyError(
                f"{folder} is in use by {holder}; wait for it to finish or stop it "
                f"(a lock left by a dead process frees itself)"
            ) from None
        self._file.seek(0)
        self._file.truncate()
        argv = [os.path.basename(sys.orig_argv[0]), *sys.orig_argv[1:]]  # as started
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        command = " ".join(argv)[:300]
        self._file.write(
            f"pid {os.getpid()} on {socket.gethostname()} ({command}; since {started})\n"
        )
        self._file.flush()

    def release(self) -> None:
        """Unlocks (idempotent); the file stays, as a dead holder's would."""
        self._file.close()

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
