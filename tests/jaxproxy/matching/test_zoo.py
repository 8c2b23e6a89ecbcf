"""The shipped models: `jaxproxy zoo` lists them, `jaxproxy match --synth` uses them untrained."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile

from jaxproxy import zoo

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _jaxproxy(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    code = "import sys; from jaxproxy.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd, env=ENV)  # fmt: skip


def test_zoo_lists_the_shipped_minisub_entry_with_its_figures(tmp_path):
    shipped = zoo.entry("minisub")
    for folder in (shipped.proxy, shipped.estimator):
        assert (folder / "weights.npz").is_file(), folder
    with np.load(shipped.estimator / "weights.npz") as npz:
        assert {npz[k].dtype for k in npz.files} == {np.dtype(shipped.info["precision"])}
    done = _jaxproxy("zoo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("minisub "))
    assert f"{shipped.info['proxy']['test_mrr']:.4f}" in row
    assert f"{shipped.info['estimator']['a_mean_in_domain']:.4f}" in row
    assert "python -m experiments.zoo --synth minisub" in done.stdout


def test_match_with_the_shipped_minisub_model_needs_no_training(tmp_path, minisub_clips):
    sound = tmp_path / "short.wav"  # 1.5 s of a minisub note: match pads it to 5 s
    soundfile.write(sound, minisub_clips[0, :48000], 32000)
    out = tmp_path / "matched"
    done = _jaxproxy("match", str(sound), "--synth", "minisub", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "metrics.json").read_text())
    assert report["synth"] == "minisub" and (out / "preset.json").is_file()
    assert np.isfinite(report["scores"]["estimator"]["as_is"]["a_mean"])


def test_match_with_an_unshipped_synth_is_one_line(tmp_path):
    sound = tmp_path / "tone.wav"
    soundfile.write(sound, 0.3 * np.sin(np.arange(32000) / 10), 32000)
    out = tmp_path / "matched"
    done = _jaxproxy("match", str(sound), "--synth", "talnm", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("jaxproxy match: error: --synth: no shipped model for "
                                          "synth 'talnm' (shipped: ")  # fmt: skip
    assert "\n" not in done.stderr.strip() and not out.exists()
