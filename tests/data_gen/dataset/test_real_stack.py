"""The CLI and the Beam pipeline on the real stack (minisub + mel128) write identical folders;
so do 1 and 2 render workers (amsynth)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from data_gen import generate as cli
from data_gen import inspect

ROOT = Path(__file__).resolve().parents[3]
ARGS = ["--synth", "minisub", "--audio-model", "mel128", "--split", "val", "--seed", "7",
        "--shard-size", "8", "--formats", "tfrecord,array_record", "--no-progress"]  # fmt: skip


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name != ".lock"}


def test_cli_and_beam_direct_runner_give_the_same_folder(tmp_path):
    pytest.importorskip("apache_beam")
    from data_gen.dataset import beam_pipeline

    assert cli.main([*ARGS, "--size", "20", "--workers", "2", "--out", str(tmp_path / "a")]) == 0
    beam_pipeline.main(
        [*ARGS, "--size", "20", "--out", str(tmp_path / "b"), "--", "--runner=DirectRunner"]
    )
    local, beam = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(local) == sorted(beam)
    assert local == beam
    meta = json.loads(local["metadata.json"])
    assert meta["complete"] and meta["num_examples"] + len(meta["failed_indices"]) == 20
    # Re-rendering stored presets reproduces the stored RMS; WAV + PNG are written.
    assert inspect.main([str(tmp_path / "a"), "--render", "2", "--out", str(tmp_path / "i")]) == 0
    assert len(list((tmp_path / "i").glob("val_*.wav"))) == 2
    assert len(list((tmp_path / "i").glob("val_*.png"))) == 2


@pytest.mark.skipif(
    not Path("/usr/lib/vst/amsynth_vst.so").exists(), reason="Debian package amsynth not installed"
)
def test_amsynth_folder_does_not_depend_on_the_worker_count(tmp_path):
    """A plug-in's notes used to depend on the notes its worker had rendered before, so 1 and 2
    workers wrote different embeddings (test_fresh_state has the cause)."""
    args = [*ARGS[2:], "--synth", "amsynth", "--size", "24"]
    for workers in ("1", "2"):
        assert cli.main([*args, "--workers", workers, "--out", str(tmp_path / workers)]) == 0
    assert _files(tmp_path / "1") == _files(tmp_path / "2")


def test_cli_rejects_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["--synth", "nosuch", "--size", "4", "--split", "x", "--seed", "1",
                  "--out", str(tmp_path)])  # fmt: skip
    assert "unknown synth 'nosuch'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--audio-model", "nosuch", "--preset", "paper-val", "--out", str(tmp_path)])
    assert "unknown audio model 'nosuch'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--size", "4", "--out", str(tmp_path)])
    assert "give --split, --seed" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_sigkill_and_rerun_real_stack(tmp_path):
    cmd = [sys.executable, "-m", "data_gen.generate", *ARGS, "--size", "96", "--workers", "2"]
    assert cli.main([*ARGS[:-1], "--size", "96", "--workers", "1", "--no-progress",
                     "--out", str(tmp_path / "ref")]) == 0  # fmt: skip
    out = tmp_path / "out"
    proc = subprocess.Popen([*cmd, "--out", str(out)], cwd=ROOT, env=os.environ.copy())
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if len(json.loads((out / "metadata.json").read_text())["shards"]) >= 4:
                break
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # the render workers are daemons of a dead parent
    proc.wait()
    assert not json.loads((out / "metadata.json").read_text())["complete"]
    assert subprocess.run([*cmd, "--out", str(out)], cwd=ROOT).returncode == 0
    assert _files(out) == _files(tmp_path / "ref")
