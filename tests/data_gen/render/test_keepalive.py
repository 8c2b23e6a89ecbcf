"""Kept render workers: the next call reuses them, renders the same bytes, and they go when idle."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from data_gen import generate as cli
from data_gen.audio import get_audio_model
from data_gen.render import RenderPool, RenderPoolError, RenderSettings, keepalive
from data_gen.synths.registry import get_spec

SETTINGS = RenderSettings(render_duration=1.0, note_duration=0.5)


@pytest.fixture
def spec():
    spec = get_spec("minisub")
    yield spec
    keepalive.stop_server(keepalive.server_path(spec, SETTINGS, 1, 60.0))


def test_the_next_call_reuses_the_workers_and_renders_the_same_bytes(spec) -> None:
    with keepalive.kept_pool(spec, SETTINGS, 1, 60.0, keep_s=60) as first:
        audio = [r.audio for r in first.render_examples(range(5), 3)]
        started = (first.server_pid, first.worker_pids)
    with keepalive.kept_pool(spec, SETTINGS, 1, 60.0, keep_s=60) as second:
        assert (second.server_pid, second.worker_pids) == started
        abandoned = second.render_examples(range(5), 3)
        next(abandoned)
        abandoned.close()  # a caller that stops mid-job
    with keepalive.kept_pool(spec, SETTINGS, 1, 60.0, keep_s=60) as third:
        assert third.server_pid == started[0]
        again = [r.audio for r in third.render_examples(range(5), 3)]
        presets = np.stack([r.preset for r in third.render_examples(range(2), 3)])
        given = [r.audio for r in third.render_presets(presets, indices=[7, 8])]
    with RenderPool(spec, SETTINGS, 1) as local:
        expected = [r.audio for r in local.render_examples(range(5), 3)]
    assert [a.tobytes() for a in audio] == [a.tobytes() for a in again]
    assert [a.tobytes() for a in audio] == [a.tobytes() for a in expected]
    assert [a.tobytes() for a in given] == [a.tobytes() for a in expected[:2]]
    path = keepalive.server_path(spec, SETTINGS, 1, 60.0)
    assert keepalive.stop_server(path)
    deadline = time.monotonic() + 30
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not path.exists()


def test_an_idle_server_exits_and_a_busy_one_is_not_waited_for(spec, monkeypatch) -> None:
    path = keepalive.server_path(spec, SETTINGS, 1, 60.0)
    monkeypatch.setattr(keepalive, "BUSY_WAIT_S", 0.5)
    with keepalive.kept_pool(spec, SETTINGS, 1, 60.0, keep_s=2) as busy:
        with keepalive.kept_pool(spec, SETTINGS, 1, 60.0, keep_s=2) as own:
            assert isinstance(own, RenderPool)  # rendered by this call's own workers
        assert [r.index for r in busy.render_examples(range(2), 3)] == [0, 1]
    deadline = time.monotonic() + 30
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not path.exists()  # 2 s without a call: the server and its workers are gone


def test_generate_with_kept_workers_writes_the_folder_a_plain_run_writes(spec, tmp_path) -> None:
    args = ["--synth", "minisub", "--audio-model", "mel128", "--split", "val", "--seed", "7",
            "--size", "12", "--workers", "1", "--no-progress"]  # fmt: skip
    assert cli.main([*args, "--keep-workers", "0", "--out", str(tmp_path / "plain")]) == 0
    for name in ("a", "b"):  # the second call reuses the first one's workers
        assert cli.main([*args, "--keep-workers", "30", "--out", str(tmp_path / name)]) == 0
    files = [
        {p.name: p.read_bytes() for p in (tmp_path / n).iterdir() if p.name != ".lock"}
        for n in ("plain", "a", "b")
    ]
    assert files[0] == files[1] == files[2]
    settings = RenderSettings(sample_rate=get_audio_model("mel128").sample_rate)
    assert keepalive.stop_server(keepalive.server_path(spec, settings, 1, 120.0))  # it was kept


def test_a_killed_server_is_replaced_by_the_next_call(spec) -> None:
    with keepalive.kept_pool(spec, SETTINGS, 1, 60.0, keep_s=60) as first:
        killed = first.server_pid
        assert [r.index for r in first.render_examples(range(2), 3)] == [0, 1]
        os.kill(killed, signal.SIGKILL)  # mid-call: the call ends with a clear error
        with pytest.raises(RenderPoolError, match=f"render server {killed} went away"):
            list(first.render_examples(range(2), 3))
    with keepalive.kept_pool(spec, SETTINGS, 1, 60.0, keep_s=60) as second:  # stale socket
        assert second.server_pid != killed
        assert [r.index for r in second.render_examples(range(2), 3)] == [0, 1]
