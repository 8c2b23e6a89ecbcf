"""Smoke runs of the experiments at the test suite's tiny size, and their report logic."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from experiments.common import report
from experiments.common.figures import wasserstein

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(module: str, tmp_path, *flags: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, JAXPROXY_CACHE=str(tmp_path / "empty_cache"))  # no EfficientAT weights
    workdir = tmp_path / "work"
    return subprocess.run(
        [sys.executable, "-m", module, "--tiny", f"--workdir={workdir}",
         f"--data-root={tmp_path / 'data'}", *flags],
        cwd=REPO, capture_output=True, text=True, timeout=3600, env=env,
    )  # fmt: skip


def _assert_pngs(folder, names):
    for name in names:
        path = folder / name
        assert path.is_file() and path.stat().st_size > 1000, path


def test_proxy_benchmark_tiny_end_to_end_and_resume(tmp_path):
    done = _run("experiments.proxy_benchmark", tmp_path, "--synth=minisub", "--encoders=hn_oh,tfm")
    assert done.returncode == 0, done.stderr[-3000:]
    folder = tmp_path / "work" / "results" / "minisub"
    table = (folder / "README.md").read_text()
    assert "| HN-OH | " in table and "| TFM | " in table and "Table 3 analogue" in table
    assert "no hand-crafted presets" in table  # minisub has none, and says so
    assert "## Findings" in table and "python -m experiments.proxy_benchmark" in table
    results = json.loads((folder / "results.json").read_text())
    assert [c["encoder"] for c in results["cells"]] == ["hn_oh", "tfm"]
    for cell in results["cells"]:
        mrr = cell["evaluations"]["synthetic"]["metrics"]["mrr"]
        assert 0 < mrr["mean"] <= 1 and mrr["std"] >= 0
        figures = cell["figures"]["tests"]["synthetic"]
        assert figures["wasserstein_umap"] > 0 and figures["umap_points"] == 60
    assert results["findings"]["ordering"]["pairs"] == 1
    _assert_pngs(folder, ["mel128_curves_overlay.png"] + [
        f"mel128_{e}_{kind}.png" for e in ("hn_oh", "tfm")
        for kind in ("curves", "synthetic_umap", "synthetic_ranks")
    ])  # fmt: skip
    assert (tmp_path / "work" / "results" / "README.md").is_file()  # the union of the parts

    again = _run("experiments.proxy_benchmark", tmp_path, "--synth=minisub", "--encoders=hn_oh,tfm")
    assert again.returncode == 0, again.stderr[-3000:]
    assert ": python -m " not in again.stdout  # every stage was done: nothing reran
    assert again.stdout.count("done before, skipped") == 3 + 2 * 3 + 1


def test_audio_models_tiny_skips_missing_weights(tmp_path):
    done = _run("experiments.audio_models", tmp_path, "--audio-models=mel128,mfcc40,mn04")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "mn04 skipped" in done.stdout
    folder = tmp_path / "work" / "results" / "minisub"
    table = (folder / "README.md").read_text()
    assert "| mel128 | 128 |" in table and "| mfcc40 | 40 |" in table and "mn04 skipped" in table
    results = json.loads((folder / "results.json").read_text())
    assert [c["audio_model"] for c in results["cells"]] == ["mel128", "mfcc40"]
    _assert_pngs(folder, ["curves_overlay.png"] + [
        f"{m}_tfm_{kind}.png" for m in ("mel128", "mfcc40")
        for kind in ("curves", "synthetic_umap", "synthetic_ranks")
    ])  # fmt: skip


def test_bad_knobs_fail_before_rendering(tmp_path):
    done = _run("experiments.proxy_benchmark", tmp_path, "--synth=minisub,cs80")
    assert done.returncode == 2 and "--synth: unknown cs80" in done.stderr
    assert not (tmp_path / "work").exists()


def test_folders_and_commands_are_recorded_relative_to_where_the_command_ran(tmp_path, monkeypatch):
    from experiments import proxy_benchmark
    from experiments.common import stages

    monkeypatch.chdir(tmp_path / "..")
    here = tmp_path.name
    argv = [f"--workdir={tmp_path}/w", "--data-root", str(tmp_path / "d"), "--title=a /b"]
    assert stages.command_line("experiments.x", argv) == (
        f"python -m experiments.x --workdir={here}/w --data-root {here}/d '--title=a /b'"
    )
    args = proxy_benchmark.parse_args(["--tiny", *argv[:3]])
    assert (args.workdir, args.data_root) == (f"{here}/w", f"{here}/d")
    assert args.results == f"{here}/w/results"  # so every stage command and cell folder is too
    out = os.path.join(args.data_root, "t")
    stage = stages.generate_args(
        synth="minisub", audio_model="mel128", split="test", size=8, seed=0, out=out, workers=1
    )
    assert f"--out={here}/d/t" in stage and stages.portable_path("runs/x") == "runs/x"


def _cell(encoder, mrr, mrr_std=0.001, hc=None):
    evaluations = {"synthetic": {"metrics": {"mrr": {"mean": mrr, "std": mrr_std},
                                             "l1": {"mean": 0.1, "std": 0.0}}}}  # fmt: skip
    if hc is not None:
        evaluations["hand-crafted"] = {
            "metrics": {"mrr": {"mean": hc, "std": 0.0}, "l1": {"mean": 0.2, "std": 0.0}}
        }
    return {"encoder": encoder, "evaluations": evaluations}


def test_ordering_finding_counts_pairs_and_ties():
    ordered = [_cell("mlp_oh", 0.1), _cell("hn_pt", 0.2), _cell("hn_oh", 0.3), _cell("tfm", 0.5)]
    found = report.ordering_finding(ordered)
    assert found["reproduced"] and found["pairs_agreeing"] == found["pairs"] == 6
    assert found["our_order"] == ["tfm", "hn_oh", "hn_pt", "mlp_oh"]
    swapped = [_cell("hn_oh", 0.2), _cell("hn_pt", 0.2005), _cell("tfm", 0.5)]
    found = report.ordering_finding(swapped)
    assert not found["reproduced"] and found["pairs_agreeing"] == 2
    assert found["pairs_within_std"] == [["hn_oh", "hn_pt"]]
    assert "Not reproduced" in found["sentence"]


def test_drop_finding():
    assert report.drop_finding([_cell("tfm", 0.5)]) is None  # no hand-crafted set
    found = report.drop_finding([_cell("tfm", 0.5, hc=0.25), _cell("hn_oh", 0.4, hc=0.1)])
    assert found["reproduced"]
    assert found["rows"][0]["mrr_change"] == pytest.approx(-0.5)
    assert found["rows"][0]["l1_change"] == pytest.approx(1.0)
    assert not report.drop_finding([_cell("tfm", 0.5, hc=0.6)])["reproduced"]


def test_wasserstein_of_shifted_cloud_is_the_shift():
    points = np.random.default_rng(0).normal(size=(50, 2))
    assert wasserstein(points, points) == pytest.approx(0.0, abs=1e-6)
    assert wasserstein(points, points + [3.0, 4.0]) == pytest.approx(5.0)


def test_smaller_batch_scales_the_papers_lr_by_its_square_root():
    from dataclasses import replace

    from experiments.common import cells, sizes, stages

    quick = cells.Part("minisub", "mel128", sizes.QUICK, "data", "work", "results", 1)
    for encoder, paper_batch in (("tfm", 256), ("hn_oh", 512)):
        paper_lr = stages.load_config(cells.train_config(quick, encoder)).lr
        overrides = cells.train_overrides(quick, encoder)
        assert overrides["batch_size"] == 64
        assert overrides["lr"] == pytest.approx(paper_lr * (64 / paper_batch) ** 0.5)
    as_is = replace(quick, sizes=replace(sizes.QUICK, sqrt_lr_scaling=False))
    assert "lr" not in cells.train_overrides(as_is, "tfm")
    paper = cells.Part("minisub", "mel128", sizes.PAPER, "data", "work", "results", 1)
    assert "lr" not in cells.train_overrides(paper, "tfm")  # the paper's batch: its lr


def test_figures_are_redrawn_when_the_export_or_the_data_changed(tmp_path):
    from experiments.common import figures

    export, test = tmp_path / "export", tmp_path / "test"
    export.mkdir(), test.mkdir()
    (export / "weights.npz").write_bytes(b"run 1")
    (test / "metadata.json").write_text("{}")
    done = tmp_path / "x_figures.json"
    done.write_text(json.dumps({"drawn_from": figures.drawn_from(str(export), {"t": str(test)})}))
    assert figures._up_to_date(str(done), figures.drawn_from(str(export), {"t": str(test)}))
    (export / "weights.npz").write_bytes(b"run 2")  # a new run wrote the same folder
    assert not figures._up_to_date(str(done), figures.drawn_from(str(export), {"t": str(test)}))
    assert not figures._up_to_date(str(tmp_path / "missing.json"), {})


def test_log_axis_labels_only_1_2_and_5_per_decade():
    from experiments.common.plots import log_tick_label

    assert [log_tick_label(v) for v in (0.5, 0.6, 0.7, 1.0, 2.0, 3.0, 20.0)] == [
        "0.5", "", "", "1", "2", "", "20"
    ]  # fmt: skip
    assert log_tick_label(0.0) == ""


def test_a_size_sets_defaults_and_a_typed_flag_wins_over_it():
    from experiments import proxy_benchmark
    from experiments.sound_matching import run

    smoke = run.parse_args(["--smoke"])
    assert (smoke.synthetic_size, smoke.examples, smoke.refine_steps) == (256, 1, 3)
    assert run.parse_args(["--smoke", "--examples=2"]).examples == 2
    paper = run.parse_args(["--paper-sizes", "--synth=dx7", "--proxy-epochs=5"])
    assert (paper.proxy_encoder, paper.proxy_epochs, paper.id_limit) == ("tfm", 5, 0)
    assert run.parse_args([]).synthetic_size == 4096
    with pytest.raises(SystemExit) as exit_info:
        run.parse_args(["--smoke", "--paper-sizes"])
    assert exit_info.value.code == 2
    assert proxy_benchmark.parse_args(["--paper"]).audio_model == "mn04"
    assert proxy_benchmark.parse_args(["--paper", "--audio-model=mel128"]).audio_model == "mel128"
    assert proxy_benchmark.parse_args([]).audio_model == "mel128"
