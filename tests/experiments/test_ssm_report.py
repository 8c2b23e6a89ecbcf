"""The sound-matching results folder: Tables 5-6 layout with the paper's rows, bar charts."""

from experiments.sound_matching import report as ssm_report

METRICS = {"num_mae": 0.2, "bin_acc": 0.9, "cat_acc": 0.5, "cat_acc_macro": 0.3, "stft": 3.0,
           "mstft": 2.9, "mel": 3.1, "mfccd": 4.0, "a_mean": 3.25}  # fmt: skip


def test_tables_put_the_papers_rows_beside_ours(tmp_path):
    results = {
        "synth": "amsynth",
        "command": "python -m experiments.sound_matching --smoke",
        "setup": {"in-domain test": "4 presets"},
        "id": {"PLoss": METRICS, "Switch": {**METRICS, "stft": 2.5}},
        "ood": {"PLoss": {k: METRICS[k] for k in ("stft", "mstft", "mel", "mfccd", "a_mean")}},
        "ood_set": "2 gm targets",
        "refine": {"PLoss": {"steps": 3, "proxy_l1_before": 0.5, "proxy_l1_after": 0.4,
                             "improved_by_proxy": 2, "before": METRICS, "after": METRICS}},
        "examples": [],
    }  # fmt: skip
    text = ssm_report.write_report(tmp_path, results).read_text()
    assert "in the role of the paper's Diva" in text
    assert "| amsynth (ours) | Switch | 0.200 | 0.900 | 0.500 | 2.500 | 2.900 |" in text
    assert (
        "| Diva (paper) | PLoss | 0.117 | 0.848 | 0.364 | 2.058 | 1.984 | 2.206 | 2.318 |" in text
    )
    assert "| Diva (paper) | Switch | 1.848 | 1.773 | 2.168 | 3.224 |" in text  # Table 6
    assert "| PLoss | 3 | 0.5000 | 0.4000 | 2 |" in text
    assert (tmp_path / "bars_id_stft.png").stat().st_size > 1000
    assert (tmp_path / "bars_ood_mfccd.png").is_file()
    assert not (tmp_path / "bars_ood_num_mae.png").exists()
    assert (tmp_path / "results.json").is_file()
