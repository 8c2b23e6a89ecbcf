"""Two real JAX processes (2 CPU devices each) share every global batch without overlap."""

import json
import os
import socket
import subprocess
import sys

import pytest

from tests.jaxproxy.data.multihost_worker import MODES
from tests.jaxproxy.fake_data import write_fake_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_see_every_example_once_per_epoch(tmp_path):
    write_fake_dataset(tmp_path / "ds", num_examples=96, num_shards=4)
    port = str(_free_port())
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["PYTHONPATH"] = ROOT
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.jaxproxy.data.multihost_worker",
                str(pid),
                port,
                str(tmp_path / "ds"),
                str(tmp_path / f"out{pid}.json"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for pid in range(2)
    ]
    for proc in procs:
        try:
            log, _ = proc.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            pytest.fail("multi-process workers timed out")
        assert proc.returncode == 0, log[-3000:]
    results = [json.loads((tmp_path / f"out{pid}.json").read_text()) for pid in range(2)]
    assert results[0]["devices"] == 4
    for mode, placement in MODES:
        key = f"{mode}-{placement}"
        host0, host1 = (r["seen"][key] for r in results)
        per_epoch = host0["steps_per_epoch"]
        assert per_epoch == host1["steps_per_epoch"] == 6, key
        for a, b in zip(host0["steps"], host1["steps"], strict=True):
            assert len(a) == len(b) == 8 and not set(a) & set(b), key
        for epoch in range(2):
            rows = slice(epoch * per_epoch, (epoch + 1) * per_epoch)
            seen = [i for s in host0["steps"][rows] + host1["steps"][rows] for i in s]
            assert sorted(seen) == list(range(96)), (key, epoch)
