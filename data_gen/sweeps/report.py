"""The ranking study's results folder: summary, markdown tables, figures, JSON (no audio)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from data_gen.sweeps import plots
from data_gen.sweeps.scoring import DISTANCES, summarize
from data_gen.sweeps.study import SynthStudy, ranking_settings


def summaries(studies: list[SynthStudy]) -> dict:
    """summary[synth][model][mode][distance] = `scoring.summarize` of its correlations."""
    return {
        s.synth: {
            model: {
                mode: {
                    d: summarize({a: np.array(r) for a, r in rho.items()})
                    for d, rho in per_d.items()
                }
                for mode, per_d in per_mode.items()
            }
            for model, per_mode in s.correlations.items()
        }
        for s in studies
    }


def markdown(
    studies: list[SynthStudy], summary: dict, models: list[str], modes: list[str], meta: dict
) -> str:
    """The tables: model means per synth and mode, then attribute x model per synth and mode."""
    lines = [
        "# Audio-model ranking study",
        "",
        f"`{meta['command']}`: {meta['seconds']:.0f} s on {meta['workers']} render workers. "
        "Cells: mean Spearman correlation of the L1 embedding distances with the sweep order "
        "(mean of the 2 x presets rankings of an attribute; +- their std); `mean` is over "
        "attributes.",
        "",
        "## Mean over attributes (L1 / L2 / cosine)",
        "",
        "| model | "
        + " | ".join(f"{s.synth} {m}" for s in studies for m in modes)
        + " | "
        + " | ".join(f"mean of synths, {m}" for m in modes)
        + " |",
        "|---|" + "---|" * ((len(studies) + 1) * len(modes)),
    ]
    for model in models:
        cells = []
        for s in studies:
            for m in modes:
                per_d = summary[s.synth][model][m]
                cells.append(" / ".join(f"{per_d[d]['mean']:.3f}" for d in DISTANCES))
        for m in modes:
            means = [
                np.mean([summary[s.synth][model][m][d]["mean"] for s in studies]) for d in DISTANCES
            ]
            cells.append("**" + " / ".join(f"{v:.3f}" for v in means) + "**")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    for s in studies:
        for m in modes:
            lines += [
                "",
                f"## {s.synth}, {'full-length sounds' if m == 'full' else m + ' truncation'} (L1)",
                "",
            ]
            lines += ["| attribute | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
            for a in s.attributes:
                row = [summary[s.synth][mdl][m]["l1"]["attributes"].get(a) for mdl in models]
                cells = ["n/a" if c is None else f"{c['mean']:.3f} +- {c['std']:.3f}" for c in row]
                lines.append(f"| {a} | " + " | ".join(cells) + " |")
            means = [summary[s.synth][mdl][m]["l1"]["mean"] for mdl in models]
            lines.append("| **mean** | " + " | ".join(f"**{v:.3f}**" for v in means) + " |")
    lines += ["", "## Sweeps", ""]
    for s in studies:
        lacks = "; ".join(f"{a} ({why})" for a, why in s.lacks.items()) or "none"
        lines += [
            f"**{s.synth}** lacks: {lacks}.",
            "",
            "| attribute | sweep | presets kept (passed / tried) | sounds outside RMS (0.01, 1) "
            "| failed |",
            "|---|---|---|---|---|",
        ]
        for a in s.attributes:
            scr = s.screening[a]
            counts = f"{scr['kept']} ({scr['passed']} / {scr['tried']}) | "
            counts += f"{s.rms_outside.get(a, 0)} | {s.failed.get(a, 0)}"
            lines.append(f"| {a} | {s.notes[a]} | {counts} |")
        lines.append("")
    if meta["skipped_models"]:
        lines += [
            "Skipped models: " + ", ".join(f"{k} ({v})" for k, v in meta["skipped_models"].items()),
            "",
        ]
    return "\n".join(lines) + "\n"


def write_results(
    out: Path, studies: list, models: list[str], modes: list[str], meta: dict
) -> None:
    """Everything into `<out>.partial`, then swapped in: a failed run leaves no half folder."""
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "strips").mkdir(parents=True)
    summary = summaries(studies)
    settings = ranking_settings()
    for s in studies:
        for a, audio_VxS in s.strips.items():
            labels = [f"{v:.3g}" for v in s.values[a]]
            title = (
                f"{s.synth} {a}: {s.notes[a]} (first starting preset: {s.starting_presets[a][0]})"
            )
            plots.sweep_strip(
                tmp / "strips" / f"{s.synth}_{a}.png",
                audio_VxS,
                settings.sample_rate,
                labels,
                title,
            )
    bars = {f"{s.synth} {m}": {mdl: summary[s.synth][mdl][m]["l1"]["mean"] for mdl in models}
            for s in studies for m in modes}  # fmt: skip
    plots.bar_chart(tmp / "ranking.png", bars, "Audio-model ranking: mean Spearman over attributes")
    (tmp / "table.md").write_text(markdown(studies, summary, models, modes, meta))
    record = {
        "meta": meta,
        "summary": summary,
        "synths": {
            s.synth: {k: v for k, v in vars(s).items() if k not in ("strips", "synth")}
            for s in studies
        },
    }
    (tmp / "results.json").write_text(json.dumps(record, indent=1))
    if out.exists():
        if not (out / "results.json").is_file():
            shutil.rmtree(tmp)
            raise FileExistsError(f"{out} exists and is not a results folder of this study")
        shutil.rmtree(out)
    os.replace(tmp, out)
