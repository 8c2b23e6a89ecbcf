"""The sound-matching experiment end to end at smoke size (two factory banks, tiny networks)."""

import json
import re
import shutil

import pytest

from experiments.sound_matching import run as sound_matching

pytestmark = [
    pytest.mark.slow,  # minutes: presets, data, proxy, fine-tuning, estimators, evaluation
    pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="needs fluidsynth"),
]


def test_smoke_run_writes_the_results_folder_and_a_rerun_skips_every_stage(tmp_path, capfd):
    argv = ["--smoke", f"--workdir={tmp_path}", "--workers=1", "--schedules=PLoss,Switch+soft"]
    assert sound_matching.main(argv) == 0
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert set(results["id"]) == set(results["ood"]) == {"PLoss", "Switch+soft"}
    for values in results["id"].values():
        assert {"num_mae", "cat_acc", "stft", "mstft", "mel", "mfccd", "a_mean"} <= set(values)
    assert results["refine"]["PLoss"]["steps"] == 3
    text = (tmp_path / "results" / "results.md").read_text()
    assert "| Diva (paper) | Switch |" in text and "amsynth (ours) | Switch+soft" in text
    pngs = list((tmp_path / "results" / "audio").rglob("spectrograms.png"))
    assert len(pngs) == 2  # one in-domain and one out-of-domain example
    assert (pngs[0].parent / "target.wav").is_file() and (pngs[0].parent / "ploss.wav").is_file()
    # A rerun launches no stage again (each would print "=== NAME: python -m ...") and leaves every
    # stage's record as it was; only the in-process evaluation runs again.
    before = json.loads((tmp_path / "stages.json").read_text())
    assert "train estimator Switch+soft" in before and "render General MIDI targets" in before
    capfd.readouterr()
    assert sound_matching.main(argv) == 0
    out = capfd.readouterr().out
    assert re.findall(r"^=== (.+?): python -m ", out, re.M) == []
    skipped = re.findall(r"^=== (.+?): done before, skipped$", out, re.M)
    assert {"train proxy", "fine-tune proxy", "export estimator Switch+soft"} <= set(skipped)
    after = json.loads((tmp_path / "stages.json").read_text())
    assert after.keys() == before.keys()
    assert {k: v for k, v in after.items() if k != "evaluate"} == {
        k: v for k, v in before.items() if k != "evaluate"
    }
