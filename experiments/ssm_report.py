"""The sound-matching results folder: the paper's Tables 5-6 layout with its numbers, bar charts.

Used by `experiments.sound_matching`; it only formats what the evaluation measured.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jaxproxy.matching import plots

# Paper, Table 5 (in-domain test sets; Num. L1, Bin. Acc., Cat. Acc., STFT, mSTFT, Mel, MFCCD).
PAPER_ID = {
    "Dexed": {
        "PLoss": (0.074, None, 0.631, 1.598, 1.538, 1.580, 2.264),
        "Mix": (0.082, None, 0.617, 1.487, 1.428, 1.454, 2.085),
        "Switch": (0.082, None, 0.621, 1.484, 1.427, 1.458, 2.076),
    },
    "Diva": {
        "PLoss": (0.117, 0.848, 0.364, 2.058, 1.984, 2.206, 2.318),
        "Mix": (0.129, 0.845, 0.367, 1.779, 1.722, 1.825, 1.955),
        "Switch": (0.177, 0.765, 0.331, 1.811, 1.756, 1.815, 1.892),
    },
}
# Paper, Table 6 (NSynth valid, out of domain; STFT, mSTFT, Mel, MFCCD).
PAPER_OOD = {
    "Dexed": {
        "PLoss": (2.520, 2.446, 2.859, 4.126),
        "Mix": (2.278, 2.196, 2.662, 3.867),
        "Switch": (2.309, 2.226, 2.692, 3.911),
    },
    "Diva": {
        "PLoss": (2.197, 2.132, 2.856, 3.763),
        "Mix": (1.912, 1.850, 2.392, 3.347),
        "Switch": (1.848, 1.773, 2.168, 3.224),
    },
}
ID_COLUMNS = ("num_mae", "bin_acc", "cat_acc", "stft", "mstft", "mel", "mfccd")
OOD_COLUMNS = ("stft", "mstft", "mel", "mfccd")
HEADERS = {
    "num_mae": "Num. L1 (↓)",
    "bin_acc": "Bin. Acc. (↑)",
    "cat_acc": "Cat. Acc. (↑)",
    "cat_acc_macro": "Cat. Acc. macro (↑)",
    "stft": "STFT (↓)",
    "mstft": "mSTFT (↓)",
    "mel": "Mel (↓)",
    "mfccd": "MFCCD (↓)",
    "a_mean": "a_mean (↓)",
}
# Which paper synth each of our synths stands in for (README: synths).
PAPER_ROLE = {"dx7": "Dexed", "dexed": "Dexed", "amsynth": "Diva", "diva": "Diva"}


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def table(
    rows: Mapping[str, Mapping[str, float]],
    columns: tuple[str, ...],
    paper: Mapping[str, tuple] | None,
    paper_name: str,
    synth: str,
) -> list[str]:
    """Markdown rows: ours per method, then the paper's rows for its synth in the same role."""
    head = ["| synth | schedule | " + " | ".join(HEADERS[c] for c in columns) + " |"]
    head.append("|---|---|" + "---|" * len(columns))
    body = [
        f"| {synth} (ours) | {method} | " + " | ".join(_cell(values.get(c)) for c in columns) + " |"
        for method, values in rows.items()
    ]
    for method, values in (paper or {}).items():
        body.append(f"| {paper_name} (paper) | {method} | " + " | ".join(map(_cell, values)) + " |")
    return head + body


def write_report(folder: Path, results: Mapping[str, Any]) -> Path:
    """results.md, results.json and one bar chart per metric and domain into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    synth = results["synth"]
    paper_name = PAPER_ROLE.get(synth.partition("@")[0], "Diva")
    lines = [
        f"# Sound matching: {synth} (in the role of the paper's {paper_name})",
        "",
        f"Command: `{results['command']}`",
        "",
        *[f"- {k}: {v}" for k, v in results["setup"].items()],
        "",
        "## In-domain test set (the paper's Table 5 layout)",
        "",
        *table(results["id"], ID_COLUMNS, PAPER_ID.get(paper_name), paper_name, synth),
        "",
        "Categorical accuracy is micro (the fraction of categorical parameters right); the "
        "reference's torchmetrics macro value (classes pooled across parameters, per batch of 32) "
        "is `cat_acc_macro` in results.json. MFCCD is reported x 0.25, as the reference logs it.",
        "",
        "## Out-of-domain targets (the paper's Table 6 layout)",
        "",
        *table(results["ood"], OOD_COLUMNS, PAPER_OOD.get(paper_name), paper_name, synth),
        "",
        f"Out-of-domain set: {results['ood_set']}. The paper's Table 6 is NSynth valid "
        "(12,678 notes); the predicted presets are rendered at MIDI note 60 in both.",
        "",
    ]
    if results.get("refine"):
        lines += [
            "## Beyond the paper: `--refine` through the proxy, out of domain",
            "",
            "Gradient steps on each predicted preset through the proxy (soft categorical and "
            "binary inputs), keeping the best hard preset by proxy loss; then rendered and scored.",
            "",
            "| estimator | steps | proxy L1 before | after | improved | "
            + " | ".join(f"{HEADERS[c]} before -> after" for c in (*OOD_COLUMNS, "a_mean"))
            + " |",
            "|---|---|---|---|---|" + "---|" * (len(OOD_COLUMNS) + 1),
        ]
        for label, r in results["refine"].items():
            cells = [
                f"{r['before'][c]:.3f} -> {r['after'][c]:.3f}" for c in (*OOD_COLUMNS, "a_mean")
            ]
            lines.append(
                f"| {label} | {r['steps']} | {r['proxy_l1_before']:.4f} | {r['proxy_l1_after']:.4f}"
                f" | {r['improved_by_proxy']} | " + " | ".join(cells) + " |"
            )
        lines.append("")
    if results.get("examples"):
        lines += ["## Audio examples", "",
                  "Target, one WAV per schedule and a side-by-side spectrogram PNG per target: "
                  "`audio/in_domain/*/`, `audio/out_of_domain/*/`.", ""]  # fmt: skip
    if results.get("notes"):
        lines += ["## Notes", "", *[f"- {n}" for n in results["notes"]], ""]
    for domain, columns in (("id", ID_COLUMNS), ("ood", OOD_COLUMNS)):
        paper = (PAPER_ID if domain == "id" else PAPER_OOD).get(paper_name, {})
        for k, column in enumerate(columns):
            ours = {m: v[column] for m, v in results[domain].items() if v.get(column) is not None}
            if not ours:
                continue
            reference = {m: vals[k] for m, vals in paper.items()}
            plots.metric_bars(
                folder / f"bars_{domain}_{column}.png",
                ours,
                title=f"{synth}, {'in-domain' if domain == 'id' else 'out-of-domain'}: "
                f"{HEADERS[column]}",
                paper=reference,
                paper_label=f"paper ({paper_name})",
            )
    (folder / "results.json").write_text(json.dumps(results, indent=1))
    path = folder / "results.md"
    path.write_text("\n".join(lines))
    return path
