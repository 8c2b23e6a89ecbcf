"""NSynth loader on a small fake subset folder laid out as the real one."""

import json

import numpy as np
import pytest
import soundfile

from data_gen.ood import nsynth
from data_gen.ood.__main__ import main
from data_gen.ood.target_set import load_target_set


@pytest.fixture
def nsynth_root(tmp_path):
    root = tmp_path / "nsynth-valid"
    (root / "audio").mkdir(parents=True)
    examples = {}
    t = np.arange(64000) / 16000
    for k, (family, pitch) in enumerate([("guitar", 50), ("guitar", 60), ("keyboard", 70),
                                         ("keyboard", 80), ("mallet", 60)]):  # fmt: skip
        key = f"{family}_acoustic_{k:03d}-{pitch:03d}-100"
        examples[key] = {"pitch": pitch, "velocity": 100, "instrument_family_str": family,
                         "instrument_source_str": "acoustic", "sample_rate": 16000}  # fmt: skip
        tone = 0.3 * np.sin(2 * np.pi * 440 * t) * np.exp(-t)
        soundfile.write(root / "audio" / f"{key}.wav", tone if family != "mallet" else 0 * t, 16000)
    (root / "examples.json").write_text(json.dumps(examples))
    return root


def test_notes_are_padded_to_5s_and_resampled_to_32k(nsynth_root):
    examples = nsynth.read_examples(nsynth_root)
    keys = nsynth.select(examples, families=["guitar", "keyboard"], pitch_range=(49, 73))
    assert [examples[k]["pitch"] for k in keys] == [50, 60, 70]
    target_set = nsynth.load_nsynth(nsynth_root, keys)
    assert target_set.audio.shape == (3, 160000)
    clip = target_set.audio[0]
    assert np.all(clip[4 * 32000 + 100 :] == 0.0)  # 4 s of sound, then the zero padding
    spectrum = np.abs(np.fft.rfft(clip[:128000]))
    assert np.argmax(spectrum) * 32000 / 128000 == pytest.approx(440, abs=1)


def test_silent_notes_are_dropped_and_listed(nsynth_root):
    examples = nsynth.read_examples(nsynth_root)
    target_set = nsynth.load_nsynth(nsynth_root, nsynth.select(examples))
    assert len(target_set) == 4
    assert [d["family"] for d in target_set.dropped] == ["mallet"]


def test_per_family_draw_is_seeded(nsynth_root):
    examples = nsynth.read_examples(nsynth_root)
    first = nsynth.select(examples, per_family=1, seed=3)
    assert first == nsynth.select(examples, per_family=1, seed=3)
    assert sorted(examples[k]["instrument_family_str"] for k in first) == [
        "guitar", "keyboard", "mallet"]  # fmt: skip


def test_cli(nsynth_root, tmp_path, capsys):
    out = tmp_path / "ns"
    assert main(["nsynth", str(nsynth_root), "--out", str(out), "--families", "keyboard"]) == 0
    assert load_target_set(out).names == sorted(
        k for k in json.loads((nsynth_root / "examples.json").read_text()) if "keyboard" in k
    )
    assert main(["nsynth", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "examples.json not found" in capsys.readouterr().err
