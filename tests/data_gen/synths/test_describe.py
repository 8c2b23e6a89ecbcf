"""`jaxproxy-data synth describe`: guesses from value texts, amsynth against its hand-written spec,
and a small Faust synth described, generated and trained as a smoke proxy from its spec file."""

import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data_gen.synths.amsynth import AMSYNTH_VST_PATH, amsynth_spec
from data_gen.synths.describe import build_spec, compare_specs, fit_problem
from data_gen.synths.spec import SynthSpec
from data_gen.synths.spec_file import load_spec_file

ROOT = Path(__file__).resolve().parents[3]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))

# A small polyphonic Faust synth: a menu, a checkbox, a stepped octave, a volume to exclude.
TINY_DSP = """declare name "tiny";
import("stdfaust.lib");
freq = hslider("freq", 440, 20, 20000, 0.01);
gain = hslider("gain", 0.8, 0, 1, 0.01);
gate = button("gate");
wave = nentry("wave[style:menu{'saw':0;'square':1;'sine':2}]", 0, 0, 2, 1);
octave = hslider("octave", 0, -2, 2, 1);
sub = checkbox("sub");
cutoff = hslider("cutoff", 2000, 200, 10000, 1);
volume = hslider("volume", 0.7, 0, 1, 0.01);
f = freq * pow(2, octave);
osc = os.sawtooth(f) * (wave == 0) + os.square(f) * (wave == 1) + os.osc(f) * (wave == 2);
process = (osc + sub * os.osc(f / 2)) : fi.lowpass(2, cutoff)
    : *(gain * volume * en.adsr(0.01, 0.1, 0.8, 0.2, gate)) <: _, _;
"""


def _row(index, name, texts, default=0.0):
    return {"index": index, "plugin_name": name, "label": name, "default": default, "texts": texts}


def _sweep(levels, points=101):
    """Texts of a parameter with `levels` steps (nearest-step rounding) over a sweep."""
    n = len(levels)
    return [levels[round(k / (points - 1) * (n - 1))] for k in range(points)]


def test_guesses_from_value_texts():
    rows = [
        _row(0, "Waveform", _sweep(["Square", "Triangle"])),
        _row(1, "Chorus", _sweep(["Off", "On"])),
        _row(2, "LFO Wave", _sweep([str(k) for k in range(5)])),
        _row(3, "Semitones", _sweep([str(k) for k in range(-12, 13)])),
        _row(4, "Cutoff", [f"{k / 100:.2f}" for k in range(101)]),
        _row(5, "Master Volume", [f"{k}" for k in range(101)], default=0.7),
        _row(6, "Unused", ["0"] * 101),
        _row(7, "Cutoff", [f"{k}" for k in range(101)]),
    ]
    spec, marks = build_spec(rows, "fake", "vst", "/fake.so")
    by = {p.name: p for p in spec.params}
    assert (by["Waveform"].kind, by["Waveform"].labels) == ("cat", ("Square", "Triangle"))
    assert by["Chorus"].kind == "bin" and by["Chorus"].values == (0.0, 1.0)
    assert (by["LFO Wave"].kind, by["LFO Wave"].cardinality) == ("cat", 5)
    assert by["LFO Wave"].values == (0.0, 0.25, 0.5, 0.75, 1.0)  # the nearest-step grid
    assert (by["Semitones"].kind, by["Semitones"].cardinality) == ("num", 25)
    assert by["Cutoff [4]"].is_continuous and by["Cutoff [7]"].is_continuous
    assert not by["Master Volume"].used and by["Master Volume"].default == 0.7
    assert not by["Unused"].used
    assert marks["Master Volume"]["check"] and "exclusion" in marks["Master Volume"]["why"]
    # The spec fits the rows it came from; a renamed or mis-indexed parameter does not.
    answer = {"rows": rows, "texts_at": {"2": ["0", "1", "2", "3", "4"]}}
    assert fit_problem(spec, answer) is None
    assert "'LFO Wave'" in fit_problem(spec, {**answer, "texts_at": {"2": ["0", "1", "1", "3"]}})
    assert "'Semitones': index 3" in fit_problem(spec, {"rows": rows[:3], "texts_at": {}})
    renamed = [*rows[:4], {**rows[4], "plugin_name": "Brightness"}, *rows[5:]]
    assert "'Cutoff [4]'" in fit_problem(spec, {"rows": renamed, "texts_at": {}})


def _describe(source, out) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "data_gen.synths", "describe", str(source), "--out", str(out)],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def amsynth_file(tmp_path_factory):
    if not os.path.exists(AMSYNTH_VST_PATH):
        pytest.skip(f"amsynth plug-in not installed at {AMSYNTH_VST_PATH}")
    out = tmp_path_factory.mktemp("describe") / "amsynth.json"
    proc = _describe(AMSYNTH_VST_PATH, out)
    assert proc.returncode == 0, proc.stderr
    return out


def test_describe_reproduces_the_hand_written_amsynth_spec(amsynth_file):
    described, hand = load_spec_file(amsynth_file), amsynth_spec()
    assert [p.name for p in described.params] == [p.name for p in hand.params]
    used = [r for r in compare_specs(described, hand) if r["reference"][2]]
    differ = [r["name"] for r in used if not r["agree"]]
    # lfo_waveform: the hand-written spec drops its noise and S&H shapes (random every render).
    assert differ == ["lfo_waveform"]
    assert 1 - len(differ) / len(used) >= 0.9
    assert [p.name for p in described.excluded_params] == [p.name for p in hand.excluded_params]
    for d, h in zip(described.params, hand.params, strict=True):
        assert d.default == pytest.approx(h.default, abs=1e-6), d.name


def _fxp(values) -> bytes:
    """A VST2 program file (.fxp): big-endian header, 28-byte name, the normalised values."""
    body = b"FxCk" + struct.pack(">iiii", 1, 0, 1, len(values)) + b"test".ljust(28, b"\0")
    body += struct.pack(f">{len(values)}f", *values)
    return b"CcnK" + struct.pack(">i", len(body)) + body


def test_presets_from_the_plugins_own_files(amsynth_file, tmp_path):
    spec = load_spec_file(amsynth_file)
    rng = np.random.default_rng(0)
    values = rng.uniform(size=(2, len(spec.params))).astype(np.float32)
    files = [tmp_path / f"p{k}.fxp" for k in range(2)]
    for file, row in zip(files, values, strict=True):
        file.write_bytes(_fxp(row))
    out = tmp_path / "presets.json"
    cmd = [sys.executable, "-m", "data_gen.presets", "import", "--synth", str(amsynth_file)]
    subprocess.run([*cmd, *map(str, files), "--out", str(out)], cwd=ROOT, env=ENV, check=True)
    saved = json.loads(out.read_text())
    assert saved["synth"] == spec.name == "amsynth_vst"
    assert [p["name"] for p in saved["presets"]] == ["p0", "p1"]
    for preset, row in zip(saved["presets"], values, strict=True):
        read = preset["parameters"]
        assert list(read) == [p.name for p in spec.used_params]
        for p in spec.used_params:  # amsynth snaps a stepped parameter to its nearest step
            tolerance = 1e-6 if p.is_continuous else 0.5 / (len(p.values) - 1) + 1e-6
            assert read[p.name] == pytest.approx(float(row[p.index]), abs=tolerance), p.name
    # A file the plug-in refuses is one line naming it; nothing is written.
    bad = tmp_path / "bad.fxp"
    bad.write_bytes(b"not a program")
    refused = subprocess.run(
        [*cmd, str(files[0]), str(bad), "--out", str(tmp_path / "never.json")],
        cwd=ROOT, env=ENV, capture_output=True, text=True,
    )  # fmt: skip
    assert refused.returncode == 2 and str(bad) in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "never.json").exists()


@pytest.mark.skipif(bool(os.environ.get("DISPLAY")), reason="needs a machine without a display")
def test_a_preset_file_that_crashes_the_plugin_is_named(amsynth_file, tmp_path):
    # DawDreamer opens the plug-in's editor to restore a saved state; without a display amsynth
    # ends the process. The command names the file and, lenient, keeps the rest.
    state, good = tmp_path / "saved.state", tmp_path / "good.fxp"
    save = (
        "import sys, dawdreamer as daw; e = daw.RenderEngine(44100, 512);"
        "daw_p = e.make_plugin_processor('a', sys.argv[1]); daw_p.save_state(sys.argv[2])"
    )
    subprocess.run([sys.executable, "-c", save, AMSYNTH_VST_PATH, str(state)], check=True)
    good.write_bytes(_fxp([0.5] * len(load_spec_file(amsynth_file).params)))
    cmd = [sys.executable, "-m", "data_gen.presets", "import", "--synth", str(amsynth_file)]
    out = tmp_path / "presets.json"
    refused = subprocess.run(
        [*cmd, str(good), str(state), "--out", str(out)],
        cwd=ROOT, env=ENV, capture_output=True, text=True,
    )  # fmt: skip
    assert refused.returncode == 2 and "saved.state" in refused.stderr
    assert re.search(
        r"the plug-in (crashed \(signal|ended its process \(exit code)", refused.stderr
    )
    assert not out.exists()
    kept = subprocess.run(
        [*cmd, str(good), str(state), "--out", str(out), "--lenient"],
        cwd=ROOT, env=ENV, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "saved.state" in kept.stderr
    assert [p["name"] for p in json.loads(out.read_text())["presets"]] == ["good"]


def test_faust_spec_file_to_smoke_proxy(tmp_path):
    dsp, spec_file = tmp_path / "tiny.dsp", tmp_path / "tiny.json"
    dsp.write_text(TINY_DSP)
    proc = _describe(dsp, spec_file)
    assert proc.returncode == 0, proc.stderr
    spec = load_spec_file(spec_file)
    kinds = {p.name: (p.kind, p.cardinality, p.used) for p in spec.params}
    assert kinds == {
        "cutoff": ("num", -1, True),
        "octave": ("num", 5, True),
        "sub": ("bin", 2, True),
        "volume": ("num", -1, False),
        "wave": ("cat", 3, True),
    }
    assert spec.param("wave").labels == ("saw", "square", "sine")

    # A spec that does not fit its DSP is refused with one line naming the parameter.
    data = json.loads(spec_file.read_text())
    wave = next(p for p in data["params"] if p["name"] == "wave")
    wave.update(values=[0.0, 0.25, 0.5, 0.75, 1.0], weights=None, labels=None)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    gen = [sys.executable, "-m", "data_gen.generate", "--audio-model", "mel128", "--workers", "1"]
    refused = subprocess.run(
        [*gen, "--synth", str(bad), "--split", "train", "--size", "8", "--seed", "1",
         "--out", str(tmp_path / "never")],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1 and "'wave'" in refused.stderr
    assert not (tmp_path / "never").exists()

    for split, size, seed in (("train", 96, 1), ("val", 32, 2)):
        subprocess.run(
            [*gen, "--synth", str(spec_file), "--split", split, "--size", str(size),
             "--seed", str(seed), "--out", str(tmp_path / split), "--no-progress"],
            cwd=ROOT, env=ENV, check=True, capture_output=True, timeout=600,
        )  # fmt: skip
    meta = json.loads((tmp_path / "train" / "metadata.json").read_text())
    assert meta["synth_fingerprint"] == spec.fingerprint()

    workdir = tmp_path / "run"
    subprocess.run(
        [sys.executable, "-m", "jaxproxy.main",
         f"--config=proxy:synth={spec_file},encoder=mlp_oh,audio_model=mel128,smoke",
         f"--workdir={workdir}", f"--config.train_data={tmp_path / 'train'}",
         f"--config.val_data={tmp_path / 'val'}"],
        cwd=ROOT, env=ENV, check=True, capture_output=True, timeout=900,
    )  # fmt: skip
    export = tmp_path / "export"
    subprocess.run(
        [sys.executable, "-m", "jaxproxy.export", f"--workdir={workdir}", f"--out={export}"],
        cwd=ROOT, env=ENV, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    # The spec travels inside the export: it loads and runs with neither the spec file nor the DSP.
    spec_file.unlink()
    dsp.unlink()
    carried = json.loads((export / "synth_spec.json").read_text())
    assert "review" not in carried
    assert SynthSpec.from_json(carried).fingerprint() == spec.fingerprint()
    load = (
        "import sys, numpy as np; from jaxproxy.proxy_loader import Proxy; p = Proxy(sys.argv[1]);"
        "x = np.zeros((2, p.num_params), np.float32);"
        "print(p.spec_json['name'], p.param_names, p(x).shape)"
    )
    out = subprocess.run(
        [sys.executable, "-c", load, str(export)],
        cwd=ROOT, env=ENV, check=True, capture_output=True, text=True, timeout=300,
    ).stdout  # fmt: skip
    assert out.split()[0] == "tiny" and "['cutoff', 'octave', 'sub', 'wave']" in out
