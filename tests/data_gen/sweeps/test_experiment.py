"""`python -m experiments.audio_model_ranking --quick`: the results folder and bad flags."""

import json

import pytest

from experiments import audio_model_ranking
from tests.test_docs import machine_paths


def test_quick_run_writes_tables_figures_and_json(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the results name the folder as typed from here: "ranking"
    out = tmp_path / "ranking"
    audio_model_ranking.main(["--quick", "--out", str(out), "--truncate-s", "1", "--workers", "1"])
    attributes = audio_model_ranking.QUICK["attributes"].split(",")
    assert sorted(p.name for p in (out / "strips").iterdir()) == sorted(
        f"minisub_{a}.png" for a in attributes
    )
    assert (out / "ranking.png").stat().st_size > 1000
    table = (out / "table.md").read_text()
    for a in attributes:
        assert f"| {a} |" in table
    record = json.loads((out / "results.json").read_text())
    summary = record["summary"]["minisub"]
    assert set(summary) == {"mel128", "mfcc40", "mstft"}  # EfficientAT: no weights offline
    for model in summary.values():
        assert set(model) == {"full", "1s"}
        for per_distance in model.values():
            assert set(per_distance) == {"l1", "l2", "cosine"}
            assert -1.0 <= per_distance["l1"]["mean"] <= 1.0
    rho = record["synths"]["minisub"]["correlations"]["mel128"]["full"]["l1"]["amp_attack"]
    assert len(rho) == 2 and len(rho[0]) == 2  # presets x (up, down)
    assert not list(tmp_path.glob("*.partial"))
    # Results that travel: the command as typed from here, no folder of this machine.
    command = "python -m experiments.audio_model_ranking --quick --out ranking --truncate-s 1"
    assert record["meta"]["command"] == command + " --workers 1" and command in table
    for text in (table, (out / "results.json").read_text()):
        assert str(tmp_path) not in text and machine_paths(text) == []


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--synths", "diva"], "no sweeps"),
        (["--truncate-s", "0.05"], "--truncate-s"),
        (["--attributes", "loudness"], "unknown"),
        (["--values", "2"], "--values"),
    ],
)
def test_bad_flags_stop_with_one_clear_line(tmp_path, capsys, flags, message) -> None:
    with pytest.raises(SystemExit) as exit_info:
        audio_model_ranking.main(["--out", str(tmp_path / "x"), *flags])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_unknown_model_is_refused(tmp_path) -> None:
    with pytest.raises(SystemExit, match="--models: unknown"):
        audio_model_ranking.main(["--out", str(tmp_path / "x"), "--models", "clap"])
