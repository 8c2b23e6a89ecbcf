"""kill -9 at any moment, rerun the same command: the result equals an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.data_gen.dataset import fakes

ROOT = Path(__file__).resolve().parents[3]
SIZE, DELAY = 160, 0.01


def _start(out: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tests.data_gen.dataset.fakes", str(out), str(SIZE), str(DELAY)]
    return subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE)


def _num_shards(out: Path) -> int:
    try:
        return len(json.loads((out / "metadata.json").read_text())["shards"])
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


def test_sigkill_then_rerun_gives_the_uninterrupted_dataset(tmp_path):
    ref, out = tmp_path / "ref", tmp_path / "out"
    fakes.run(ref, size=SIZE, formats=("tfrecord", "array_record"))
    seen = []
    for wait_shards, extra_sleep in ((2, 0.0), (6, 0.037), (10, 0.061)):
        proc = _start(out)
        deadline = time.monotonic() + 60
        while _num_shards(out) < wait_shards and proc.poll() is None:
            assert time.monotonic() < deadline, "generation did not progress"
            time.sleep(0.005)
        time.sleep(extra_sleep)  # land anywhere: mid-batch, mid-shard write, mid-metadata
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        meta = json.loads((out / "metadata.json").read_text())
        assert not meta["complete"], "killed too late: raise SIZE or DELAY"
        seen.append(len(meta["shards"]))
        # Every shard listed in metadata is complete on disk.
        for shard in meta["shards"]:
            assert (out / shard["file"]).exists()
    assert seen == sorted(seen)
    proc = _start(out)
    assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()[-2000:]
    assert not list(out.glob("*.tmp"))
    ref_files = sorted(p.name for p in ref.iterdir() if p.name != ".lock")
    assert ref_files == sorted(p.name for p in out.iterdir() if p.name != ".lock")
    for name in ref_files:
        assert (ref / name).read_bytes() == (out / name).read_bytes(), name
