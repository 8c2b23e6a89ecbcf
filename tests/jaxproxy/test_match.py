"""`python -m jaxproxy.match`: every bad input is one line, exit code 2, and nothing written."""

from pathlib import Path

import numpy as np
import pytest
import soundfile

from jaxproxy.match import main

SR = 32000


def _bad_inputs(tmp_path):
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(SR), SR)
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    text = tmp_path / "readme.ogg"
    text.write_text("not audio at all\n" * 20)
    dc = tmp_path / "dc.wav"
    soundfile.write(dc, np.full(SR, 0.5), SR)
    tiny = tmp_path / "tiny.wav"
    soundfile.write(tiny, 0.5 * np.sin(np.arange(10)), SR)
    return {
        dc: "constant (DC) level",
        tiny: "too short (10 samples",
        silent: "silent",
        empty: "empty",
        text: "not an audio file",
        tmp_path / "missing.wav": "no such file",
    }


def test_bad_sound_files(tmp_path, capsys):
    out = tmp_path / "out"
    for path, problem in _bad_inputs(tmp_path).items():
        code = main([str(path), "--estimator", str(tmp_path / "no_estimator"), "--out", str(out)])
        err = capsys.readouterr().err.strip()
        assert code == 2, path
        assert problem in err and str(path) in err and "\n" not in err, err
        assert "Traceback" not in err
        assert not out.exists()


def test_bad_flags_and_estimator(tmp_path, capsys):
    tone = tmp_path / "tone.wav"
    t = np.arange(SR) / SR
    soundfile.write(tone, 0.3 * np.sin(2 * np.pi * 220 * t), SR)
    out = tmp_path / "out"
    assert main([str(tone), "--estimator", str(tmp_path), "--out", str(out), "--refine", "-1"]) == 2
    assert "--refine must be >= 0" in capsys.readouterr().err
    assert main([str(tone), "--estimator", str(tmp_path / "nope"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--estimator" in err and "nope" in err and "\n" not in err.strip()
    assert main([str(tone), "--estimator", str(tmp_path), "--out", str(out), "--note", "300"]) == 2
    assert "--note" in capsys.readouterr().err
    base = [str(tone), "--estimator", str(tmp_path), "--out", str(out)]
    for flags, expected in (
        (["--learning-rate", "nan"], "--learning-rate must be a finite number > 0, got nan"),
        (["--learning-rate", "0"], "--learning-rate must be a finite number > 0, got 0.0"),
        (["--workers", "0"], "--workers must be >= 1, got 0"),
    ):  # was: a NaN learning rate exited 0 keeping the estimator's preset (step 0)
        assert main([*base, *flags]) == 2
        err = capsys.readouterr().err.strip()
        assert err == f"python -m jaxproxy.match: error: {expected}"
    assert main([str(tone), "--estimator", str(tmp_path), "--out", str(tone)]) == 2
    assert f"--out {tone}: is a file, not a folder" in capsys.readouterr().err
    for flag, value in (("--candidates", "0"),):
        argv = [str(tone), "--estimator", str(tmp_path), "--out", str(out), flag, value]
        assert main(argv) == 2, flag
        assert flag in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:  # argparse: a non-number
        main([str(tone), "--estimator", str(tmp_path), "--out", str(out), "--refine", "x"])
    assert info.value.code == 2
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    assert main([str(tone), "--estimator", str(tmp_path), "--out", str(foreign)]) == 2
    assert "did not write" in capsys.readouterr().err
    assert (foreign / "thesis.tex").read_text() == "keep me"
    assert not out.exists()


def test_table_stays_aligned_for_any_value():
    from jaxproxy.matching.report_html import text_table

    rows = [["a", 1.0, 123456789.123], ["a_long_name", float("nan"), -0.5]]
    lines = text_table(["sound", "x", "a_mean"], rows).splitlines()
    assert len({len(line) for line in lines}) == 1, lines
    assert lines[2].split()[1] == "-"


def test_help_runs(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "--refine" in capsys.readouterr().out


@pytest.fixture(scope="module")
def smoke_estimator(tmp_path_factory):
    """A minisub estimator trained 12 smoke steps through a (random) exported proxy."""
    from data_gen.generate import main as generate_main
    from jaxproxy import export, models
    from jaxproxy.configs import estimator as estimator_config
    from jaxproxy.configs import proxy as proxy_config
    from jaxproxy.export_estimator import export_estimator
    from jaxproxy.models.layout import PresetLayout
    from jaxproxy.trainers import estimator

    root = tmp_path_factory.mktemp("match")
    data = root / "data"
    code = generate_main(["--synth=minisub", "--audio-model=mel128", "--split=train",
                          "--size=80", "--seed=1", f"--out={data}", "--extras=mel",
                          "--formats=array_record", "--workers=1", "--no-progress"])  # fmt: skip
    assert code in (0, None)
    from jaxproxy.data import open_dataset

    spec_json = open_dataset(str(data)).synth_spec_json
    config = proxy_config.get_config("synth=minisub,encoder=hn_oh,audio_model=mel128,smoke")
    model = models.build_proxy(config, PresetLayout.from_spec_json(spec_json), 128)
    proxy_dir = export.export_model(str(root / "proxy"), model, config=config.to_dict(),
                                    spec_json=spec_json, embedding_dim=128)  # fmt: skip
    config = estimator_config.get_config("synth=minisub,schedule=switch,smoke")
    config.train_data, config.proxy = str(data), proxy_dir
    estimator.train_and_evaluate(config, str(root / "train"))
    return export_estimator(str(root / "train"), str(root / "estimator"))


def _tone(path, rate=44100, seconds=1.5, channels=2):
    t = np.arange(int(rate * seconds)) / rate
    audio = 0.4 * np.sin(2 * np.pi * 261.6 * t) * np.exp(-2 * t)
    soundfile.write(path, np.stack([audio] * channels, 1), rate)
    return path


def test_match_writes_a_preset_wav_png_and_metrics(smoke_estimator, tmp_path, capsys):
    import json

    from data_gen.presets.presets_json import load_presets

    sound = _tone(tmp_path / "note.flac")
    out = tmp_path / "matched"
    assert main([str(sound), "--estimator", smoke_estimator, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("input level: brought to the training renders' median")
    assert "averaged to mono" in printed and "44100 -> 32000" in printed and "padded" in printed
    assert "a_mean" in printed and "lm_a_mean" in printed and "pitch: input 26" in printed
    synth, (preset,) = load_presets(out / "preset.json")  # minisub has no native file format
    assert synth == "minisub"
    predicted, rate = soundfile.read(out / "predicted.wav")
    assert rate == 32000 and predicted.shape == (160000,)
    assert soundfile.read(out / "input.wav")[0].shape == (160000,)
    assert (out / "spectrograms.png").stat().st_size > 5000
    report = json.loads((out / "metrics.json").read_text())
    assert report["final"] == "estimator"
    scores = report["scores"]["estimator"]
    assert set(scores["as_is"]) == set(scores["loudness_matched"]) >= {"stft", "mfccd", "a_mean"}
    assert abs(report["input_f0"] - 261.6) < 2
    page = (out / "report.html").read_text()
    assert "<audio" in page and "predicted.wav" in page and "spectrograms.png" in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["matched", "note.flac"]  # no leftovers


def test_match_refine_keeps_the_best_by_proxy_loss(smoke_estimator, tmp_path, capsys):
    import json

    sound = _tone(tmp_path / "note.wav", rate=32000, seconds=6.0, channels=1)
    out = tmp_path / "refined"
    assert main([str(sound), "--estimator", smoke_estimator, "--out", str(out),
                 "--refine", "3"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "cut to 5 s" in printed and "refine: 3 steps" in printed
    report = json.loads((out / "metrics.json").read_text())
    assert report["final"] == "refined" and set(report["scores"]) == {"estimator", "refined"}
    scores = report["scores"]  # the estimator's own preset is a candidate: never worse
    lm = {k: v["loudness_matched"]["a_mean"] for k, v in scores.items()}
    assert lm["refined"] <= lm["estimator"] + 1e-9
    assert (out / "predicted_estimator.wav").is_file() and (out / "predicted.wav").is_file()


def test_a_quieter_sound_gives_the_same_estimator_input(smoke_estimator):
    from jaxproxy.matching import predict
    from jaxproxy.matching.estimator_loader import load_estimator

    t = np.arange(5 * SR) / SR
    note = (0.4 * np.sin(2 * np.pi * 261.6 * t) * np.exp(-2 * t)).astype(np.float32)
    estimator = load_estimator(smoke_estimator)
    assert estimator.input_level is not None  # measured on the training set at export
    guess = predict.estimate(estimator, np.stack([note, note * 0.1]))
    assert abs(guess.gain_db[1] - guess.gain_db[0] - 20.0) < 1e-3
    np.testing.assert_allclose(guess.audio[1], guess.audio[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(guess.logits[1], guess.logits[0], atol=1e-3)


def test_several_sounds_and_a_reused_out(smoke_estimator, tmp_path, capsys):
    import csv

    folder = tmp_path / "sounds"
    folder.mkdir()
    _tone(folder / "a.wav", rate=32000, channels=1)
    _tone(folder / "b.flac")
    (folder / "notes.txt").write_text("not a sound, skipped")
    out = tmp_path / "batch"
    assert main([str(folder), "--estimator", smoke_estimator, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 subfolders, summary.csv, index.html" in printed
    assert (out / "a" / "report.html").is_file() and (out / "b" / "predicted.wav").is_file()
    with open(out / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["folder"] for r in rows] == ["a", "b"] and float(rows[0]["a_mean"]) > 0
    assert "a/report.html" in (out / "index.html").read_text()
    # a rerun into the same --out leaves nothing of the first run
    assert main([str(folder / "a.wav"), "--estimator", smoke_estimator, "--out", str(out)]) == 0
    assert not (out / "a").exists() and not (out / "summary.csv").exists()
    assert (out / "predicted.wav").is_file()


@pytest.mark.slow
def test_report_opens_in_headless_chromium(smoke_estimator, tmp_path):
    """report.html from the file system: the audio elements load and the image shows."""
    import shutil
    import subprocess

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("chromium is not installed")
    out = tmp_path / "m"
    assert (
        main([str(_tone(tmp_path / "n.wav")), "--estimator", smoke_estimator, "--out", str(out)])
        == 0
    )
    probe = out / "probe.html"  # the report in an iframe, its state written into the DOM
    probe.write_text(PROBE)
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--allow-file-access-from-files", "--virtual-time-budget=15000", "--dump-dom",
         probe.as_uri()],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert "RESULT audio=2/2 image=1" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]


PROBE = """<!doctype html><html><body><div id=r>waiting</div>
<iframe id=f src="report.html" width=1200 height=900></iframe><script>
function check() {
  const d = document.getElementById('f').contentDocument;
  const audio = [...d.querySelectorAll('audio')];
  const ok = audio.filter(a => a.readyState >= 1 && a.duration > 4.9).length;
  const img = d.getElementById('spectrograms');
  const shown = img && img.complete && img.naturalWidth > 200 ? 1 : 0;
  document.getElementById('r').textContent = `RESULT audio=${ok}/${audio.length} image=${shown}`;
}
document.getElementById('f').onload = () => setTimeout(check, 3000);
</script></body></html>
"""


def test_a_wav_cut_short_is_matched_with_a_warning(smoke_estimator, tmp_path, capsys):
    import json

    whole = _tone(tmp_path / "whole.wav", rate=32000, seconds=2.0, channels=1)
    data = whole.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])  # an interrupted copy: the header still says 2 s
    out = tmp_path / "matched"
    assert main([str(cut), "--estimator", smoke_estimator, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "zero-padded" in captured.out
    (warning,) = [line for line in captured.err.splitlines() if "warning:" in line]
    assert warning.startswith(f"python -m jaxproxy.match: warning: {cut}: the file is cut short")
    report = json.loads((out / "metrics.json").read_text())
    assert report["input_warnings"] == [warning.split("warning: ", 1)[1]]
