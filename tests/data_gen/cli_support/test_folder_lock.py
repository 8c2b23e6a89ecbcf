"""The folder lock of `generate` and `train`: a second holder is refused naming the first, and a
holder killed with SIGKILL leaves a lock that is free at once."""

import os
import signal
import subprocess
import sys
import time

import pytest

from data_gen.cli_support.folder_lock import FolderBusyError, FolderLock

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOLD = (
    "import sys, time; from data_gen.cli_support.folder_lock import FolderLock; "
    "lock = FolderLock(sys.argv[1]); print('held', flush=True); time.sleep(600)"
)


def test_second_holder_is_refused_naming_the_first(tmp_path):
    with FolderLock(tmp_path):
        with pytest.raises(FolderBusyError) as refused:
            FolderLock(tmp_path)
        assert f"{tmp_path} is in use by pid {os.getpid()} on " in str(refused.value)
        assert "\n" not in str(refused.value)
    FolderLock(tmp_path).release()  # free again once released


def test_a_holder_killed_with_sigkill_leaves_no_stale_lock(tmp_path):
    env = {**os.environ, "PYTHONPATH": ROOT}
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(FolderBusyError, match=f"pid {child.pid} on .*-c import sys"):
            FolderLock(tmp_path)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    deadline = time.time() + 10  # the kernel drops a dead process's flock at once
    while True:
        try:
            lock = FolderLock(tmp_path)
            break
        except FolderBusyError:
            assert time.time() < deadline, "the lock of a killed process was not freed"
            time.sleep(0.05)
    assert f"pid {os.getpid()} " in (tmp_path / ".lock").read_text()  # now names its new holder
    lock.release()
