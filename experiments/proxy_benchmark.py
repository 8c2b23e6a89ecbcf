"""The paper's Table 3 / Table 4 analogue: five encoders x our synths, synthetic and hand-crafted.

python -m experiments.proxy_benchmark --synth minisub            # one synth's part, default size
python -m experiments.proxy_benchmark --synth all --quick        # every cell at a tiny size
python -m experiments.proxy_benchmark --synth dx7 --paper --audio-model mn04   # accelerator pods

Per synth: one dataset (train / val / test, the paper's seeds) shared by the five encoders, the
hand-crafted set (dx7: hexter's voices; amsynth: its banks; minisub has none), then per encoder
training, export of the best-MRR checkpoint, the paper's test protocol on both test sets and the
figures. Results go to `<results>/<synth>/` (README.md with the tables, findings, figures and
every command; results.json; PNG) and the union of the parts to `<results>/README.md`. Every
stage resumes: rerun the same command after an interruption.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

from experiments.common import cells, plots, report, stages
from experiments.common.paper_numbers import (
    ENCODER_NAMES,
    ENCODERS,
    PAPER_SYNTH_NAMES,
    PAPER_WASSERSTEIN_SYNTH_VS_HC,
    TABLE3,
    TABLE4,
    paper_synth,
)
from experiments.common.sizes import parse_sized, sizes_for

SYNTHS = ("minisub", "dx7", "amsynth")


def _paper_cell(table: dict, synth: str, encoder: str) -> str:
    cell = table.get(paper_synth(synth) or "", {}).get(encoder)
    return "-" if cell is None else f"{cell.mrr:.3f} / {cell.l1:.4f}"


def part_markdown(
    part: cells.Part, results: list[dict], findings: dict, command: str, record
) -> str:
    synth, paper = part.synth, paper_synth(part.synth)
    paper_name = PAPER_SYNTH_NAMES.get(paper, "-")
    lines = [
        f"# proxy_benchmark: {synth} x {part.audio_model} ({part.sizes.name} sizes)",
        "",
        f"Sizes: {part.sizes.describe()}. Encoders use the paper's hyperparameters of {paper_name}"
        f" (the paper synth {synth} stands in for; batch sizes in the table),"
        " the paper's schedule shape over this run's length, and the best-validation-MRR"
        " checkpoint. Test protocol: facts 7.2"
        " (preset -> audio MRR with L1 distance; mean and std over random subsets).",
        "",
        "## Synthetic test set (Table 3 analogue)",
        "",
        report.table(
            [
                "encoder",
                "MRR (ours)",
                "L1 (ours)",
                f"paper {paper_name} MRR / L1",
                "best val MRR",
                "steps",
                "batch",
                "lr",
                "train s",
            ],
            [
                [
                    ENCODER_NAMES[c["encoder"]],
                    report.pm(report.metric(c, "synthetic", "mrr")),
                    report.pm(report.metric(c, "synthetic", "l1"), 4),
                    _paper_cell(TABLE3, synth, c["encoder"]),
                    f"{c['best_val_mrr']:.3f}",
                    f"{c['steps_done']}/{c['planned_steps']}",
                    str(c["batch_size"]),
                    f"{c['lr']:g}",
                    f"{c['train_seconds']:.0f}",
                ]
                for c in results
            ],
        ),  # fmt: skip
        "",
    ]
    if any("hand-crafted" in c["evaluations"] for c in results):
        n_hc = results[0]["evaluations"]["hand-crafted"]["num_examples"]
        lines += [
            "## Hand-crafted test set (Table 4 analogue)",
            "",
            f"{n_hc} hand-crafted presets after the paper's processing (all of them in every run"
            f" when fewer than {part.sizes.subset}, so the std is 0, as for the paper's TAL-NM)."
            " A smaller pool makes retrieval easier, so the change is against the synthetic MRR"
            " at the same pool size when the pool is smaller.",
            "",
            report.table(
                ["encoder", "MRR", "change", "L1", "change", f"paper {paper_name} MRR / L1"],
                [
                    [
                        ENCODER_NAMES[r["encoder"]],
                        f"{r['mrr_hand_crafted']:.3f}",
                        f"{100 * r['mrr_change']:+.1f}%",
                        f"{r['l1_hand_crafted']:.4f}",
                        f"{100 * r['l1_change']:+.1f}%",
                        _paper_cell(TABLE4, synth, r["encoder"]),
                    ]
                    for r in findings["drop"]["rows"]
                ],
            ),  # fmt: skip
            "",
        ]
        gap = cells.audio_gap(part)
        if gap is not None:
            lines += [
                f"The hand-crafted presets' sounds sit apart from the random ones: the UMAP of"
                f" their {part.audio_model} embeddings ({gap['points']['synthetic']} synthetic,"
                f" {gap['points']['hand-crafted']} hand-crafted; [figure]({gap['png']})) gives a"
                f" Wasserstein distance of {gap['wasserstein_umap']:.2f} between the two clouds"
                f" ({gap['wasserstein_embedding']:.2f} in the embedding space). The paper's"
                " (mn04, Fig. 3): Dexed 3.52, Diva 2.41 (UMAP-plane distances depend on the"
                " points and the embedding, so compare the order, not the values).",
                "",
            ]
    else:
        lines += ["## Hand-crafted test set", "", cells.NO_HAND_CRAFTED_NOTE.get(synth, "none"), ""]
    lines += ["## Findings", "", f"- {findings['ordering']['sentence']}"]
    lines += [
        f"- {ENCODER_NAMES[c['encoder']]} trained {c['steps_done']} of its {c['planned_steps']}"
        " planned steps (stopped by the time budget, before its learning rate annealed): its"
        " figures understate it."
        for c in results
        if c["steps_done"] < c["planned_steps"]
    ]
    if findings.get("drop"):
        lines.append(f"- {findings['drop']['sentence']}")
    lines += ["", "## Figures", "", f"![curves]({part.audio_model}_curves_overlay.png)", ""]
    for c in results:
        if "figures" not in c:
            continue
        name = cells.figures_name(part, c["encoder"])
        tests = c["figures"]["tests"]
        umaps = ", ".join(
            f"[UMAP {t}]({f['umap_png']}) (Wasserstein {f['wasserstein_umap']:.3f} in the UMAP"
            f" plane, {f['wasserstein_embedding']:.3f} in the embedding space),"
            f" [ranks {t}]({f['ranks_png']})"
            for t, f in tests.items()
        )
        lines.append(f"- {ENCODER_NAMES[c['encoder']]}: [curves]({name}_curves.png), {umaps}")
    lines += ["", report.commands_section(record, command), ""]
    return "\n".join(lines)


def write_part(part: cells.Part, results: list[dict], run: stages.Stages, command: str) -> None:
    """Writes (or refreshes, after each cell) the part's results folder."""
    curves = {
        ENCODER_NAMES[c["encoder"]]: plots.read_run_curves(
            os.path.join(c["train_dir"], "tensorboard")
        )
        for c in results
    }
    plots.plot_curve_overlay(
        curves, os.path.join(part.results, f"{part.audio_model}_curves_overlay.png"),
        f"{part.synth} x {part.audio_model}: training curves ({part.sizes.name} sizes)",
    )  # fmt: skip
    for c in results:
        c["steps_done"] = int(max(v[0].max() for v in curves[ENCODER_NAMES[c["encoder"]]].values()))
        val_mrr = curves[ENCODER_NAMES[c["encoder"]]].get("val/mrr")
        c["best_val_mrr"] = float(val_mrr[1].max()) if val_mrr is not None else float("nan")
        c["train_seconds"] = run.record[f"train {part.synth} {part.audio_model} {c['encoder']}"][
            "seconds"
        ]
    findings = {"ordering": report.ordering_finding(results), "drop": report.drop_finding(results)}
    record = {k: v for k, v in run.record.items() if f" {part.synth} " in f" {k} "}
    report.write_text(
        os.path.join(part.results, "README.md"),
        part_markdown(part, results, findings, command, record),
    )
    report.write_json(
        os.path.join(part.results, "results.json"),
        {
            "experiment": "proxy_benchmark",
            "command": command,
            **cells.part_facts(part),
            "hand_crafted": cells.HAND_CRAFTED.get(part.synth),
            "note": cells.NO_HAND_CRAFTED_NOTE.get(part.synth),
            "cells": results,
            "findings": findings,
            "audio_gap_synthetic_vs_hand_crafted": cells.audio_gap(part),
            "paper_wasserstein_synthetic_vs_hand_crafted": PAPER_WASSERSTEIN_SYNTH_VS_HC,
            "paper_table3": TABLE3.get(paper_synth(part.synth)),
            "paper_table4": TABLE4.get(paper_synth(part.synth)),
            "stages": record,
        },
    )


def write_union(results_root: str) -> str:
    """`<results>/README.md`: every finished part's synthetic and hand-crafted MRR side by side."""
    parts = []
    for path in sorted(glob.glob(os.path.join(results_root, "*", "results.json"))):
        with open(path) as f:
            parts.append(json.load(f))
    header, rows = ["encoder"], {e: [ENCODER_NAMES[e]] for e in ENCODERS}
    for p in parts:
        by_enc = {c["encoder"]: c for c in p["cells"]}
        tests = ["synthetic"] + (["hand-crafted"] if p["hand_crafted"] else [])
        for test in tests:
            header.append(f"{p['synth']} {test} MRR / L1")
            for e in ENCODERS:
                c = by_enc.get(e)
                mrr = c and report.metric(c, test, "mrr")
                l1 = c and report.metric(c, test, "l1")
                rows[e].append(f"{mrr[0]:.3f} / {l1[0]:.4f}" if mrr else "-")
    lines = [
        "# proxy_benchmark: the union of the synth parts",
        "",
        "Each column links to a part's folder with its sizes, the paper's numbers, figures and"
        " commands: " + ", ".join(f"[{p['synth']}]({p['synth']}/README.md)" for p in parts) + ".",
        "",
        report.table(header, list(rows.values())),
        "",
        *(f"- {p['synth']}: {p['findings']['ordering']['sentence']}" for p in parts),
        *(
            f"- {p['synth']}: {p['findings']['drop']['sentence']}"
            for p in parts
            if p["findings"]["drop"]
        ),
        "",
    ]
    path = os.path.join(results_root, "README.md")
    report.write_text(path, "\n".join(lines))
    return path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--synth", default="all", help=f"comma-separated of {', '.join(SYNTHS)}, or all"
    )
    parser.add_argument("--encoders", default=",".join(ENCODERS), help="comma-separated")
    parser.add_argument("--audio-model", default="mel128", help="mn04 with --paper")
    stages.add_size_and_folder_flags(parser, "runs/proxy_benchmark")
    parser.add_argument(
        "--max-steps",
        default="",
        help="ENCODER=N[,...]: stop that encoder's training at step N (a time budget; the "
        "table's steps column shows it)",
    )
    args = parse_sized(parser, argv, lambda a: {"audio_model": "mn04"} if a.paper else {})
    try:
        args.max_steps = {
            enc: int(n) for enc, _, n in (i.partition("=") for i in args.max_steps.split(",") if i)
        }
    except ValueError:
        parser.error(f"--max-steps: expected ENCODER=N[,...], got {args.max_steps!r}")
    synths = list(SYNTHS) if args.synth == "all" else args.synth.split(",")
    encoders = args.encoders.split(",")
    for name, values, allowed in (("--synth", synths, SYNTHS), ("--encoders", encoders, ENCODERS)):
        bad = [v for v in values if v not in allowed]
        if bad:
            parser.error(f"{name}: unknown {', '.join(bad)}; expected some of {', '.join(allowed)}")
    args.synths, args.encoder_list = synths, encoders
    args.mode = (
        "paper" if args.paper else "quick" if args.quick else "tiny" if args.tiny else "default"
    )
    args.results = args.results or os.path.join(args.workdir, "results")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    command = stages.command_line("experiments.proxy_benchmark", argv)
    parts = [
        cells.Part(
            synth=synth,
            audio_model=args.audio_model,
            sizes=sizes_for(args.mode, synth),
            data_root=args.data_root,
            workdir=args.workdir,
            results=os.path.join(args.results, synth),
            workers=args.workers,
        )  # fmt: skip
        for synth in args.synths
    ]
    try:
        for part in parts:  # every knob before anything is rendered
            cells.check_part(part, args.encoder_list)
    except ValueError as e:
        print(f"proxy_benchmark: {e}", file=sys.stderr)
        return 2
    run = stages.Stages(args.workdir, "proxy_benchmark")
    try:
        for part in parts:
            synth = part.synth
            tests = cells.generate_data(run, part)
            results = []
            for encoder in args.encoder_list:
                max_steps = args.max_steps.get(encoder, 0)
                results.append(cells.run_cell(run, part, encoder, tests, max_steps))
                write_part(part, results, run, command)  # tables so far, before the figures
            cells.draw_figures(run, part, results, tests)
            write_part(part, results, run, command)
            print(f"proxy_benchmark: {synth} done -> {part.results}/README.md", flush=True)
        print(f"proxy_benchmark: union -> {write_union(args.results)}")
    except stages.StageError as e:
        print(str(e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
