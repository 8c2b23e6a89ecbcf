"""Bad generation flags and --out paths: one line naming the flag or path, nothing written."""

import os
import stat
import subprocess
import sys

import pytest

from data_gen import generate as cli
from data_gen.dataset import generation_flags
from data_gen.dataset.options import Part, WriterOptions
from data_gen.dataset.production import build_generation_metadata
from data_gen.dataset.writer import DatasetWriteError, DatasetWriter
from data_gen.presets.presets_json import ImportedPreset, save_presets
from tests.data_gen.dataset import fakes

BASE = ["--synth", "minisub", "--audio-model", "mel128", "--split", "train", "--size", "16",
        "--seed", "1"]  # fmt: skip


def _run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--shard-size", "0"], "--shard-size must be a whole number >= 1, got 0"),
        (["--batch-size", "0"], "--batch-size must be a whole number >= 1, got 0"),
        (["--batch-size", "-3"], "--batch-size must be a whole number >= 1, got -3"),
        (["--workers", "0"], "--workers must be a whole number >= 1, got 0"),
        (["--timeout", "0"], "--timeout must be > 0 seconds, got 0.0"),
        (["--keep-workers", "-1"], "--keep-workers must be >= 0 seconds, got -1.0"),
        (["--formats", "parquet"], "--formats must be a comma-separated subset"),
        (["--extras", "wav"], "--extras: unknown extra feature"),
        (["--index-start", "20"], "--index-start 20 / --index-end 16"),
        (["--size", "0"], "--size must be >= 1, got 0"),
    ],
)
def test_bad_flag_is_one_line_and_nothing_is_written(tmp_path, capsys, flags, expected):
    out = tmp_path / "out"
    err = _run([*BASE, "--out", str(out), *flags], capsys)
    assert expected in err
    assert not out.exists()  # refused before anything touched the disk


def test_out_that_is_a_file_or_under_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    err = _run([*BASE, "--out", str(tmp_path / "f")], capsys)
    assert f"--out {tmp_path / 'f'}: is a file, not a folder" in err
    err = _run([*BASE, "--out", str(tmp_path / "f" / "sub")], capsys)
    assert f"{tmp_path / 'f'} is a file, so no folder can be made under it" in err


def test_read_only_out(tmp_path, capsys, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if str(p) == str(ro) else real(p, m))
    err = _run([*BASE, "--out", str(ro / "data")], capsys)
    assert f"{ro} is not writable" in err


def test_writer_names_the_folder_it_cannot_create(tmp_path, monkeypatch):
    # The writer's own guard (e.g. the folder became read-only after the flag check).
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr("pathlib.Path.mkdir", refuse)
    meta = build_generation_metadata(
        fakes.tiny_spec(),
        fakes.SETTINGS,
        fakes.FakeModel(),
        Part("val", 4, seed=0),
        WriterOptions(),
    )
    with pytest.raises(DatasetWriteError, match=r"out: cannot write a dataset folder here"):
        DatasetWriter(tmp_path / "out", meta)


def test_flag_check_accepts_a_good_command(tmp_path):
    args = cli.generation_parser().parse_args([*BASE, "--out", str(tmp_path / "new" / "out")])
    generation_flags.check_generation(args, 16)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_preset_files_honour_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = tmp_path / "presets.json"
        save_presets(path, "minisub", [ImportedPreset("a", "src", {"cutoff": 0.5})])
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_bad_device_is_refused_before_the_default_audio_model_is_chosen(tmp_path):
    # Without --audio-model the default's choice is logged; a bad --device must still be one
    # line (a subprocess: the log goes to the real stderr).
    argv = [*BASE[:2], *BASE[4:], "--device", "bogus", "--out", str(tmp_path / "out")]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": root, "JAXPROXY_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "data_gen.generate", *argv], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "python -m data_gen.generate: error: --device: device 'bogus' is not a torch device "
        "(cpu, cuda, cuda:1, mps) (see --help)"
    ]
    assert not (tmp_path / "out").exists()
