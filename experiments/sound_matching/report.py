"""The sound-matching results folder: the paper's Tables 5-6 layout with its numbers, bar charts.

Used by `experiments.sound_matching`; it only formats what the evaluation measured.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from experiments.common.paper_numbers import (
    PAPER_SYNTH_NAMES,
    TABLE5_SSM_IN_DOMAIN,
    TABLE6_SSM_OUT_OF_DOMAIN,
    paper_synth,
)
from jaxproxy.matching import plots

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
    paper_key = paper_synth(synth) or "diva"
    paper_name = PAPER_SYNTH_NAMES[paper_key]
    lines = [
        f"# Sound matching: {synth} (in the role of the paper's {paper_name})",
        "",
        f"Command: `{results['command']}`",
        "",
        *[f"- {k}: {v}" for k, v in results["setup"].items()],
        "",
        "## In-domain test set (the paper's Table 5 layout)",
        "",
        *table(results["id"], ID_COLUMNS, TABLE5_SSM_IN_DOMAIN.get(paper_key), paper_name, synth),
        "",
        "Categorical accuracy is micro (the fraction of categorical parameters right); the "
        "reference's torchmetrics macro value (classes pooled across parameters, per batch of 32) "
        "is `cat_acc_macro` in results.json. MFCCD is reported x 0.25, as the reference logs it.",
        "",
        "## Out-of-domain targets (the paper's Table 6 layout)",
        "",
        *table(
            results["ood"], OOD_COLUMNS, TABLE6_SSM_OUT_OF_DOMAIN.get(paper_key), paper_name, synth
        ),
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
        lines += _controls_table(results)
    if results.get("examples"):
        lines += ["## Audio examples", "",
                  "Target, one WAV per schedule and a side-by-side spectrogram PNG per target: "
                  "`audio/in_domain/*/`, `audio/out_of_domain/*/`.", ""]  # fmt: skip
    if results.get("notes"):
        lines += ["## Notes", "", *[f"- {n}" for n in results["notes"]], ""]
    for domain, columns in (("id", ID_COLUMNS), ("ood", OOD_COLUMNS)):
        tables = TABLE5_SSM_IN_DOMAIN if domain == "id" else TABLE6_SSM_OUT_OF_DOMAIN
        paper = tables.get(paper_key, {})
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


def _controls_table(results: Mapping[str, Any]) -> list[str]:
    """`--refine`'s controls (`evaluate.py`): a_mean as is and loudness-matched, toward
    the true and a shuffled target, the loudness-only baseline, and pitch."""
    lines = [
        "Controls (a_mean; lm = each prediction scaled to its target's RMS; loudness-only = the "
        "unrefined prediction, lm; shuffled = the same refinement toward another note; f0 = share "
        "of pitched targets within half a semitone, octave errors apart):",
        "",
        "| estimator | before | after | shuffled | lm: loudness-only | lm after | lm shuffled "
        "| true beats shuffled | lm gain | f0 before | f0 after (octave) | f0 shuffled |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results["refine"].items():
        if "shuffled" not in r:
            continue
        pitch = results.get("ood_controls", {}).get(label, {}).get("pitch", {})
        lines.append(
            f"| {label} | {r['before']['a_mean']:.3f} | {r['after']['a_mean']:.3f} "
            f"| {r['shuffled']['a_mean']:.3f} | {r['loudness_only']['a_mean']:.3f} "
            f"| {r['after_loudness_matched']['a_mean']:.3f} "
            f"| {r['shuffled_loudness_matched']['a_mean']:.3f} "
            f"| {r['true_beats_shuffled']:.0%} (ties {r['ties_with_shuffled']:.0%}) "
            f"| {r['gain_loudness_matched']:.0%} | {pitch.get('f0_in_tune', float('nan')):.0%} "
            f"| {r['pitch_after'].get('f0_in_tune', float('nan')):.0%} "
            f"({r['pitch_after'].get('f0_octave_errors', float('nan')):.0%}) "
            f"| {r['pitch_shuffled'].get('f0_in_tune', float('nan')):.0%} |"
        )
    return [*lines, ""]
