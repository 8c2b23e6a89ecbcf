"""Every `jaxproxy` / `jaxproxy-data` subcommand on bad input: exit 2, one line, nothing written.

One table: each row is a command line (run as the user types it, through `jaxproxy.cli`, in a
fresh folder holding the files of `_LAYOUT`) and the words its error line must hold: the argument
and the path it is about. For every row the command must exit with code 2, print exactly one
non-empty line on stderr that starts with the command the user typed (`jaxproxy train`, not
`main.py`), holds those words and no traceback, and create, change or delete nothing.

Rows per subcommand: a missing required argument, a path that does not exist, a file where a
folder is expected, and a garbage file where a data file is expected (plus a few bad values).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXT = "this is not the file you are looking for\n" * 4
# What every row's folder holds before the command runs (path -> text; a trailing "/" is a folder).
_LAYOUT = {
    "text.txt": TEXT,  # a file where a folder (or a data file) is expected
    "empty/": None,  # an empty folder
    "sound.wav": TEXT,  # garbage where audio is expected
    "garbage.py": "this is ( not python\n",  # a config file that is not one
    "ckpt.pt": TEXT,  # garbage where a torch checkpoint is expected
    "baddata/metadata.json": "{ not json",  # a dataset folder with garbage metadata
    "badrun/config.json": "{ not json",  # a training workdir with a garbage config
    "badrun/synth_spec.json": "{ not json",
    "badrun/data.json": "{ not json",
    "badexport/proxy.json": "{ not json",  # an export folder of garbage
    "badexport/config.json": "{ not json",
    "badexport/synth_spec.json": "{ not json",
    "badexport/weights.npz": TEXT,
    "badexport/encode.jaxexport": TEXT,
    "badrefdata/configs.pkl": TEXT,  # a reference dataset folder of garbage
    "badnsynth/examples.json": "{ not json",  # an NSynth folder of garbage
}
TRAIN = [
    "jaxproxy",
    "train",
    "--config=proxy:synth=minisub,encoder=mlp_oh,audio_model=mel128,smoke",
]
GENERATE = ["jaxproxy-data", "generate", "--synth=minisub", "--audio-model=mel128", "--split=t",
            "--size=4", "--seed=1"]  # fmt: skip
PRESETS = ["jaxproxy-data", "presets", "--synth=minisub", "--audio-model=mel128"]
DESCRIBE, CHECK = ["jaxproxy-data", "synth", "describe"], ["jaxproxy-data", "synth", "check"]
IMPORT = ["jaxproxy-data", "preset-files", "import", "--synth=dx7"]
PROCESS = ["jaxproxy-data", "preset-files", "process", "--synth=dx7"]
EXPORT = ["jaxproxy-data", "preset-files", "export", "--synth=dx7"]
FETCH = ["jaxproxy-data", "audio-models", "fetch", "mn04"]
EMBED = ["jaxproxy-data", "audio-models", "embed", "mel128", "--rate=32000"]
GM = ["jaxproxy-data", "ood", "gm", "--out=o", "--programs=0", "--pitches=60", "--velocities=100"]


# (row id, command line, words the error line must hold). Paths are relative to the row's folder.
ROWS = [
    # jaxproxy train
    ("train-no-config", ["jaxproxy", "train", "--workdir=w"], ["--config"]),
    ("train-no-workdir", [*TRAIN], ["--workdir"]),
    ("train-data-missing", [*TRAIN, "--config.train_data=nope", "--workdir=w"],
     ["train_data", "nope"]),
    ("train-data-is-file", [*TRAIN, "--config.train_data=text.txt", "--workdir=w"],
     ["train_data", "text.txt"]),
    ("train-data-garbage", [*TRAIN, "--config.train_data=baddata", "--workdir=w"],
     ["train_data", "baddata", "metadata.json"]),
    ("train-workdir-is-file", [*TRAIN, "--workdir=text.txt"], ["--workdir", "text.txt"]),
    ("train-config-missing", ["jaxproxy", "train", "--config=nope.py", "--workdir=w"],
     ["--config", "nope.py"]),
    ("train-config-garbage", ["jaxproxy", "train", "--config=garbage.py", "--workdir=w"],
     ["--config", "garbage.py"]),
    ("train-config-bad-arg", ["jaxproxy", "train", "--config=proxy:encoder=bogus", "--workdir=w"],
     ["encoder", "bogus"]),
    ("train-unknown-field", [*TRAIN, "--config.nosuch=1", "--workdir=w"],
     ["nosuch", "unknown field"]),
    ("train-unknown-field-near", [*TRAIN, "--config.learning_rate=0.1", "--workdir=w"],
     ["learning_rate", "unknown field", "lr"]),
    ("train-nan-lr", [*TRAIN, "--config.lr=nan", "--workdir=w"], ["lr", "nan"]),
    ("train-batch-size-0", [*TRAIN, "--config.batch_size=0", "--workdir=w"],
     ["batch_size", "0"]),
    ("train-input-mode", [*TRAIN, "--config.input_mode=bogus", "--workdir=w"],
     ["input_mode", "'bogus'"]),
    # jaxproxy export
    ("export-no-workdir", ["jaxproxy", "export", "--out=x"], ["--workdir"]),
    ("export-no-out", ["jaxproxy", "export", "--workdir=badrun"], ["--out"]),
    ("export-workdir-missing", ["jaxproxy", "export", "--workdir=nope", "--out=x"],
     ["--workdir", "nope"]),
    ("export-workdir-is-file", ["jaxproxy", "export", "--workdir=text.txt", "--out=x"],
     ["--workdir", "text.txt"]),
    ("export-workdir-empty", ["jaxproxy", "export", "--workdir=empty", "--out=x"],
     ["--workdir", "empty"]),
    ("export-workdir-garbage", ["jaxproxy", "export", "--workdir=badrun", "--out=x"],
     ["--workdir", "badrun", "config.json"]),
    ("export-out-is-file", ["jaxproxy", "export", "--workdir=badrun", "--out=text.txt"],
     ["--out", "text.txt"]),
    # jaxproxy evaluate
    ("evaluate-no-proxy", ["jaxproxy", "evaluate", "--data=empty"], ["--proxy"]),
    ("evaluate-no-data", ["jaxproxy", "evaluate", "--proxy=badexport"], ["--data"]),
    ("evaluate-proxy-missing", ["jaxproxy", "evaluate", "--proxy=nope", "--data=baddata"],
     ["--proxy", "nope"]),
    ("evaluate-proxy-is-file", ["jaxproxy", "evaluate", "--proxy=text.txt", "--data=baddata"],
     ["--proxy", "text.txt"]),
    ("evaluate-proxy-garbage", ["jaxproxy", "evaluate", "--proxy=badexport", "--data=baddata"],
     ["--proxy", "badexport"]),
    ("evaluate-data-missing", ["jaxproxy", "evaluate", "--proxy=badexport", "--data=nope"],
     ["--data", "nope"]),
    ("evaluate-data-is-file", ["jaxproxy", "evaluate", "--proxy=badexport", "--data=text.txt"],
     ["--data", "text.txt"]),
    ("evaluate-runs-0", ["jaxproxy", "evaluate", "--proxy=badexport", "--data=baddata",
                         "--runs=0"], ["--runs", "0"]),
    ("evaluate-out-is-folder", ["jaxproxy", "evaluate", "--proxy=badexport", "--data=baddata",
                                "--out=empty"], ["--out", "empty"]),
    # jaxproxy match
    ("match-no-estimator", ["jaxproxy", "match", "sound.wav", "--out=o"], ["--estimator"]),
    ("match-sound-missing", ["jaxproxy", "match", "nope.wav", "--estimator=badexport", "--out=o"],
     ["nope.wav", "no such file"]),
    ("match-sound-is-empty-folder", ["jaxproxy", "match", "empty", "--estimator=badexport",
                                     "--out=o"], ["empty", "holds no audio file"]),
    ("match-sound-garbage", ["jaxproxy", "match", "sound.wav", "--estimator=badexport", "--out=o"],
     ["sound.wav", "not an audio file"]),
    ("match-out-is-file", ["jaxproxy", "match", "sound.wav", "--estimator=badexport",
                           "--out=text.txt"], ["--out", "text.txt"]),
    ("match-nan-learning-rate", ["jaxproxy", "match", "sound.wav", "--estimator=badexport",
                                 "--out=o", "--learning-rate=nan"], ["--learning-rate", "nan"]),
    ("match-synth-not-shipped", ["jaxproxy", "match", "sound.wav", "--synth=nosuch", "--out=o"],
     ["--synth", "'nosuch'"]),
    # jaxproxy zoo (takes no argument)
    ("zoo-extra-argument", ["jaxproxy", "zoo", "nope"], ["unrecognized arguments", "nope"]),
    # jaxproxy convert (internals: issue 23 item 7)
    ("convert-checkpoint-no-out", ["jaxproxy", "convert", "checkpoint", "ckpt.pt"], ["--out"]),
    ("convert-checkpoint-missing", ["jaxproxy", "convert", "checkpoint", "nope.ckpt",
                                    "--out=o"], ["nope.ckpt"]),
    ("convert-checkpoint-garbage", ["jaxproxy", "convert", "checkpoint", "ckpt.pt", "--out=o"],
     ["ckpt.pt"]),
    ("convert-checkpoint-out-is-file", ["jaxproxy", "convert", "checkpoint", "ckpt.pt",
                                        "--out=text.txt"], ["--out", "text.txt"]),
    ("convert-dataset-no-out", ["jaxproxy", "convert", "dataset", "badrefdata"], ["--out"]),
    ("convert-dataset-missing", ["jaxproxy", "convert", "dataset", "nope", "--out=o"], ["nope"]),
    ("convert-dataset-is-file", ["jaxproxy", "convert", "dataset", "text.txt", "--out=o"],
     ["text.txt"]),
    ("convert-dataset-garbage", ["jaxproxy", "convert", "dataset", "badrefdata", "--out=o"],
     ["badrefdata", "configs.pkl"]),
    # jaxproxy-data generate (and the flags presets and beam share)
    ("generate-no-out", [*GENERATE], ["--out"]),
    ("generate-weights-missing", [*GENERATE, "--audio-model=mn04", "--weights=nope.pt", "--out=o"],
     ["--weights", "nope.pt"]),
    ("generate-out-is-file", [*GENERATE, "--out=text.txt"], ["--out", "text.txt"]),
    ("generate-weights-garbage", [*GENERATE, "--audio-model=mn04", "--weights=ckpt.pt", "--out=o"],
     ["--weights", "ckpt.pt", "not a PyTorch checkpoint"]),
    ("generate-out-garbage", [*GENERATE, "--out=baddata"], ["--out", "baddata", "metadata.json"]),
    ("generate-device-bogus", [*GENERATE, "--device=bogus", "--out=o"], ["--device", "bogus"]),
    ("generate-plugin-is-folder", [*GENERATE, "--synth=amsynth", "--plugin=empty", "--out=o"],
     ["--plugin", "empty", "is a folder"]),
    ("generate-plugin-garbage", [*GENERATE, "--synth=amsynth", "--plugin=text.txt", "--out=o"],
     ["--plugin", "text.txt", "not a plug-in"]),
    # jaxproxy-data merge
    ("merge-no-part", ["jaxproxy-data", "merge", "--out=o"], ["PART"]),
    ("merge-part-missing", ["jaxproxy-data", "merge", "nope", "--out=o"], ["PART", "nope"]),
    ("merge-part-is-file", ["jaxproxy-data", "merge", "text.txt", "--out=o"],
     ["PART", "text.txt"]),
    ("merge-part-garbage", ["jaxproxy-data", "merge", "baddata", "--out=o"],
     ["PART", "baddata", "metadata.json"]),
    ("merge-out-is-file", ["jaxproxy-data", "merge", "baddata", "--out=text.txt"],
     ["--out", "text.txt"]),
    # jaxproxy-data presets
    ("presets-no-presets", ["jaxproxy-data", "presets", "--out=o"], ["--presets"]),
    ("presets-missing", [*PRESETS, "--presets=nope.json", "--out=o"], ["--presets", "nope.json"]),
    ("presets-is-folder", [*PRESETS, "--presets=empty", "--out=o"], ["--presets", "empty"]),
    ("presets-garbage", [*PRESETS, "--presets=text.txt", "--out=o"], ["--presets", "text.txt"]),
    ("presets-out-is-file", [*PRESETS, "--presets=text.txt", "--out=text.txt"],
     ["--out", "text.txt"]),
    # jaxproxy-data synth
    ("synth-describe-no-out", [*DESCRIBE, "text.txt"], ["--out"]),
    ("synth-describe-missing", [*DESCRIBE, "nope.so", "--out=s.json"],
     ["PLUGIN_OR_DSP", "nope.so"]),
    ("synth-describe-is-folder", [*DESCRIBE, "empty", "--out=s.json"],
     ["PLUGIN_OR_DSP", "empty", "is a folder"]),
    ("synth-describe-garbage", [*DESCRIBE, "text.txt", "--out=s.json"],
     ["PLUGIN_OR_DSP", "text.txt", "not a plug-in"]),
    ("synth-describe-bad-name", [*DESCRIBE, "nope.so", "--out=s.json", "--name=my synth"],
     ["--name", "my synth"]),
    ("synth-check-no-spec", [*CHECK], ["spec"]),
    ("synth-check-missing", [*CHECK, "nope.json"], ["SPEC", "nope.json"]),
    ("synth-check-is-folder", [*CHECK, "empty"], ["SPEC", "empty"]),
    ("synth-check-garbage", [*CHECK, "text.txt"], ["spec file", "text.txt"]),
    # jaxproxy-data inspect
    ("inspect-no-folder", ["jaxproxy-data", "inspect"], ["folder"]),
    ("inspect-missing", ["jaxproxy-data", "inspect", "nope"], ["folder", "nope"]),
    ("inspect-is-file", ["jaxproxy-data", "inspect", "text.txt"], ["folder", "text.txt"]),
    ("inspect-garbage", ["jaxproxy-data", "inspect", "baddata"],
     ["folder", "baddata", "metadata.json"]),
    ("inspect-limit-0", ["jaxproxy-data", "inspect", "baddata", "--limit=0"], ["--limit", "0"]),
    ("inspect-render-negative", ["jaxproxy-data", "inspect", "baddata", "--render=-1"],
     ["--render", "-1"]),
    # jaxproxy-data preset-files
    ("preset-files-import-no-out", [*IMPORT, "text.txt"], ["--out"]),
    ("preset-files-import-missing", [*IMPORT, "nope.syx", "--out=p.json"], ["files", "nope.syx"]),
    ("preset-files-import-is-folder", [*IMPORT, "empty", "--out=p.json"], ["files", "empty"]),
    ("preset-files-import-garbage", [*IMPORT, "text.txt", "--out=p.json"], ["files", "text.txt"]),
    ("preset-files-import-out-is-folder", [*IMPORT, "text.txt", "--out=empty"],
     ["--out", "empty"]),
    ("preset-files-process-no-report", [*PROCESS, "text.txt", "--out=k.json"], ["--report"]),
    ("preset-files-process-missing", [*PROCESS, "nope.json", "--out=k.json", "--report=r.json"],
     ["presets", "nope.json"]),
    ("preset-files-process-garbage", [*PROCESS, "text.txt", "--out=k.json", "--report=r.json"],
     ["presets", "text.txt"]),
    ("preset-files-export-no-out", [*EXPORT, "text.txt"], ["--out"]),
    ("preset-files-export-missing", [*EXPORT, "nope.json", "--out=b.syx"], ["source", "nope.json"]),
    ("preset-files-export-garbage", [*EXPORT, "text.txt", "--out=b.syx"], ["source", "text.txt"]),
    ("preset-files-export-out-is-folder", [*EXPORT, "text.txt", "--out=empty"], ["--out", "empty"]),
    # jaxproxy-data audio-models (the weights cache is $JAXPROXY_CACHE, inside the row's folder)
    ("audio-models-fetch-no-model", ["jaxproxy-data", "audio-models", "fetch"], ["models"]),
    ("audio-models-fetch-source-missing", [*FETCH, "--source=nope.pt"], ["--source", "nope.pt"]),
    ("audio-models-fetch-source-is-folder", [*FETCH, "--source=empty"], ["--source", "empty"]),
    ("audio-models-fetch-source-garbage", [*FETCH, "--source=ckpt.pt"],
     ["--source", "ckpt.pt", "not a PyTorch checkpoint"]),
    ("audio-models-embed-no-out", [*EMBED, "text.txt"], ["--out"]),
    ("audio-models-embed-missing", [*EMBED, "nope.npy", "--out=e.npy"], ["clips", "nope.npy"]),
    ("audio-models-embed-is-folder", [*EMBED, "empty", "--out=e.npy"], ["clips", "empty"]),
    ("audio-models-embed-garbage", [*EMBED, "text.txt", "--out=e.npy"], ["clips", "text.txt"]),
    # jaxproxy-data ood
    ("ood-gm-no-out", ["jaxproxy-data", "ood", "gm"], ["--out"]),
    ("ood-gm-soundfont-missing", [*GM, "--soundfont=nope.sf2"], ["--soundfont", "nope.sf2"]),
    ("ood-gm-soundfont-is-folder", [*GM, "--soundfont=empty"], ["--soundfont", "empty"]),
    ("ood-gm-soundfont-garbage", [*GM, "--soundfont=text.txt"],
     ["--soundfont", "text.txt", "not a SoundFont"]),
    ("ood-gm-out-is-file", ["jaxproxy-data", "ood", "gm", "--out=text.txt"], ["--out", "text.txt"]),
    ("ood-nsynth-no-root", ["jaxproxy-data", "ood", "nsynth", "--out=o"], ["root"]),
    ("ood-nsynth-missing", ["jaxproxy-data", "ood", "nsynth", "nope", "--out=o"], ["root", "nope"]),
    ("ood-nsynth-is-file", ["jaxproxy-data", "ood", "nsynth", "text.txt", "--out=o"],
     ["root", "text.txt"]),
    ("ood-nsynth-garbage", ["jaxproxy-data", "ood", "nsynth", "badnsynth", "--out=o"],
     ["root", "badnsynth", "examples.json"]),
    # jaxproxy-data beam (the generation flags; Beam's own options come after `--`)
    ("beam-no-out", ["jaxproxy-data", "beam", *GENERATE[2:]], ["--out"]),
    ("beam-weights-missing", ["jaxproxy-data", "beam", *GENERATE[2:], "--audio-model=mn04",
                              "--weights=nope.pt", "--out=o"], ["--weights", "nope.pt"]),
    ("beam-out-is-file", ["jaxproxy-data", "beam", *GENERATE[2:], "--out=text.txt"],
     ["--out", "text.txt"]),
    ("beam-weights-garbage", ["jaxproxy-data", "beam", *GENERATE[2:], "--audio-model=mn04",
                              "--weights=ckpt.pt", "--out=o"], ["--weights", "ckpt.pt"]),
    # jaxproxy-data upgrade
    ("upgrade-no-folder", ["jaxproxy-data", "upgrade"], ["folder"]),
    ("upgrade-missing", ["jaxproxy-data", "upgrade", "nope"], ["folder", "nope"]),
    ("upgrade-is-file", ["jaxproxy-data", "upgrade", "text.txt"], ["folder", "text.txt"]),
    ("upgrade-garbage", ["jaxproxy-data", "upgrade", "baddata"],
     ["folder", "baddata", "metadata.json"]),
]  # fmt: skip


def _make_layout(folder) -> None:
    for name, text in _LAYOUT.items():
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path) if text is not None else path, exist_ok=True)
        if text is not None:
            with open(path, "w") as f:
                f.write(text)


def _snapshot(folder) -> dict[str, tuple[int, int]]:
    """Every path under `folder` -> (size, mtime_ns): what a command must not change."""
    found = {}
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(parent, name)
            st = os.lstat(path)
            found[os.path.relpath(path, folder)] = (st.st_size, st.st_mtime_ns)
    return found


def _run(argv: list[str], cwd) -> subprocess.CompletedProcess:
    entry = {"jaxproxy": "main", "jaxproxy-data": "data_main"}[argv[0]]
    code = f"import sys; from jaxproxy.cli import {entry}; sys.exit({entry}())"
    # The weights cache inside the row's folder: a download that stays would show as a change.
    env = {**os.environ, "PYTHONPATH": ROOT, "JAXPROXY_CACHE": os.path.join(cwd, ".cache")}
    return subprocess.run(
        [sys.executable, "-c", code, *argv[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


# Rows that still fail, with why (strict: a row that starts passing must leave this list).
PENDING: dict[str, str] = {}


def _params():
    for row_id, argv, words in ROWS:
        marks = (
            [pytest.mark.xfail(reason=PENDING[row_id], strict=True)] if row_id in PENDING else []
        )
        yield pytest.param(argv, words, id=row_id, marks=marks)


@pytest.mark.parametrize(("argv", "words"), list(_params()))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, argv, words):
    _make_layout(tmp_path)
    before = _snapshot(tmp_path)
    done = _run(argv, tmp_path)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, (done.returncode, done.stderr[-3000:])
    line = lines[0]
    assert line.startswith(f"{argv[0]} {argv[1]}"), line  # what the user typed, not main.py
    missing = [w for w in words if w not in line]
    assert not missing, f"{missing} not in {line!r}"
    assert _snapshot(tmp_path) == before, "the command wrote, changed or deleted something"
