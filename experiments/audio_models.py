"""The best encoder (TFM) regressing each audio model available here, on one synth.

python -m experiments.audio_models --synth minisub              # default size
python -m experiments.audio_models --synth minisub --quick      # every cell at a tiny size

Audio models: the paper's baselines mel128, mfcc40 and mstft always; EfficientAT mn04 (the
paper's proxy target) and mn20_mel (its sound-matching target) only when their official weights
are in the cache (`python -m data_gen.audio fetch ...`), else skipped with a message. One dataset
per audio model (the same presets and seeds), then the proxy_benchmark stages per cell. Results:
`<results>/<synth>/` (README.md, results.json, PNG). Every stage resumes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

from experiments.common import cells, plots, report, stages
from experiments.common.paper_numbers import ENCODER_NAMES, ENCODERS, FIG2_RANKING_SCORE
from experiments.common.sizes import sizes_for

BASELINES = ("mel128", "mfcc40", "mstft")
EFFICIENTAT = ("mn04", "mn20_mel")


def weights_cached(audio_model: str) -> bool:
    """True when the official EfficientAT checkpoint of `audio_model` is in the local cache."""
    from data_gen.audio import efficientat, weights

    variant = efficientat.VARIANTS[audio_model]
    return (weights.cache_dir() / weights.CHECKPOINT_FILES[variant.checkpoint]).is_file()


def available_audio_models(requested: list[str]) -> tuple[list[str], list[str]]:
    """(models to run, messages about the skipped ones)."""
    run, skipped = [], []
    for name in requested:
        if name in EFFICIENTAT and not weights_cached(name):
            skipped.append(
                f"{name} skipped: its official EfficientAT weights are not in the cache (this "
                "machine cannot download them); `python -m data_gen.audio fetch "
                f"{name} --source FILE` puts them there."
            )
        else:
            run.append(name)
    return run, skipped


def part_markdown(synth, encoder, sizes, results, skipped, command, record) -> str:
    by_model = {c["audio_model"]: c for c in results}
    mrr_order = sorted(by_model, key=lambda m: -report.metric(by_model[m], "synthetic", "mrr")[0])
    fig2 = [m for m in sorted(by_model, key=lambda m: -FIG2_RANKING_SCORE.get(m, 0))]
    lines = [
        f"# audio_models: {ENCODER_NAMES[encoder]} on {synth} with each audio model"
        f" ({sizes.name} sizes)",
        "",
        f"Sizes: {sizes.describe()}. Same presets (same seeds) for every audio model.",
        "",
        report.table(
            [
                "audio model",
                "dim",
                "MRR",
                "L1",
                "best val MRR",
                "train s",
                "paper Fig. 2 ranking score",
            ],
            [
                [
                    m,
                    str(c["embedding_dim"]),
                    report.pm(report.metric(c, "synthetic", "mrr")),
                    report.pm(report.metric(c, "synthetic", "l1"), 4),
                    f"{c['best_val_mrr']:.3f}",
                    f"{c['train_seconds']:.0f}",
                    f"{FIG2_RANKING_SCORE.get(m, float('nan')):.3f}",
                ]
                for m, c in by_model.items()
            ],
        ),  # fmt: skip
        "",
        "L1 is in each audio model's own units and is not comparable across rows; the MRR is."
        " The paper's Fig. 2 score measures something else (how well the embedding orders"
        " sounds along one parameter, on TAL-NoiseMaker); it is shown for reference.",
        "",
        "## Findings",
        "",
        f"- Proxy MRR order here: {' > '.join(mrr_order)}; the paper's ranking-score order of the"
        f" same models: {' > '.join(fig2)}"
        + (" (the same order)." if mrr_order == fig2 else " (a different order)."),
        *(f"- {msg}" for msg in skipped),
        "",
        "## Figures",
        "",
        "![curves](curves_overlay.png)",
        "",
    ]
    for m, c in by_model.items():
        if "figures" in c:
            f = c["figures"]["tests"]["synthetic"]
            lines.append(
                f"- {m}: [curves]({c['figures']['curves_png']}), [UMAP]({f['umap_png']})"
                f" (Wasserstein {f['wasserstein_umap']:.3f} in the UMAP plane),"
                f" [ranks]({f['ranks_png']})"
            )
    lines += ["", report.commands_section(record, command), ""]
    return "\n".join(lines)


def write_results(args, synth, sizes, results, skipped, run, command) -> None:
    out = os.path.join(args.results, synth)
    curves = {
        c["audio_model"]: plots.read_run_curves(os.path.join(c["train_dir"], "tensorboard"))
        for c in results
    }
    plots.plot_curve_overlay(
        curves, os.path.join(out, "curves_overlay.png"),
        f"{synth}, {ENCODER_NAMES[args.encoder]}: training curves per audio model",
    )  # fmt: skip
    for c in results:
        c["best_val_mrr"] = float(curves[c["audio_model"]]["val/mrr"][1].max())
        c["train_seconds"] = run.record[f"train {synth} {c['audio_model']} {args.encoder}"][
            "seconds"
        ]
        with open(os.path.join(c["export_dir"], "proxy.json")) as f:
            c["embedding_dim"] = json.load(f)["embedding_dim"]
    record = {k: v for k, v in run.record.items() if f" {synth} " in f" {k} "}
    report.write_text(
        os.path.join(out, "README.md"),
        part_markdown(synth, args.encoder, sizes, results, skipped, command, record),
    )
    report.write_json(
        os.path.join(out, "results.json"),
        {
            "experiment": "audio_models",
            "command": command,
            "synth": synth,
            "encoder": args.encoder,
            "sizes": dataclasses.asdict(sizes),
            "skipped": skipped,
            "cells": results,
            "paper_fig2_ranking_score": FIG2_RANKING_SCORE,
            "stages": record,
        },
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synth", default="minisub", help="minisub, dx7 or amsynth")
    parser.add_argument("--encoder", default="tfm", choices=ENCODERS, help="the paper's best: tfm")
    parser.add_argument("--audio-models", default=",".join(BASELINES + EFFICIENTAT))
    stages.add_size_and_folder_flags(parser, "runs/audio_models")
    args = parser.parse_args(argv)
    if args.synth not in ("minisub", "dx7", "amsynth"):
        parser.error(f"--synth: expected minisub, dx7 or amsynth, got {args.synth!r}")
    requested = args.audio_models.split(",")
    unknown = [m for m in requested if m not in BASELINES + EFFICIENTAT]
    if unknown:
        parser.error(f"--audio-models: unknown {', '.join(unknown)}; expected some of "
                     f"{', '.join(BASELINES + EFFICIENTAT)}")  # fmt: skip
    mode = "paper" if args.paper else "quick" if args.quick else "tiny" if args.tiny else "default"
    args.results = args.results or os.path.join(args.workdir, "results")
    sizes = sizes_for(mode, args.synth)
    command = stages.command_line("experiments.audio_models", argv)
    models, skipped = available_audio_models(requested)
    for msg in skipped:
        print(f"audio_models: {msg}", flush=True)
    parts = [
        cells.Part(
            synth=args.synth,
            audio_model=audio_model,
            sizes=sizes,
            data_root=args.data_root,
            workdir=args.workdir,
            results=os.path.join(args.results, args.synth),
            workers=args.workers,
        )  # fmt: skip
        for audio_model in models
    ]
    try:
        for part in parts:  # every knob before anything is rendered
            cells.check_part(part, [args.encoder])
    except ValueError as e:
        parser.error(str(e))
    run = stages.Stages(args.workdir, "audio_models")
    results = []
    try:
        for part in parts:
            tests = {"synthetic": cells.generate_data(run, part, hand_crafted=False)["synthetic"]}
            results.append(cells.run_cell(run, part, args.encoder, tests))
            cells.draw_figures(run, part, results[-1:], tests)
            write_results(args, args.synth, sizes, results, skipped, run, command)
    except stages.StageError as e:
        print(str(e), file=sys.stderr)
        return 1
    print(f"audio_models: -> {os.path.join(args.results, args.synth, 'README.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
