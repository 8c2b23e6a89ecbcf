"""The paper's audio-model selection study (section 4) on the synths we can render.

python -m experiments.audio_model_ranking --out docs/results/audio_model_ranking --truncate-s 1

Per synth (`data_gen/sweeps/definitions.py`), each sound attribute is swept over 20 values from 5
starting presets (the paper's 10: `--presets 10`; 5 fit 30-40 min on a busy 2-core machine),
rendered as the reference does (44.1 kHz, 4 s, note 60, velocity 100, held 2 s), embedded by every
audio model that runs offline, and scored by the Spearman correlation of embedding distances with
the sweep order (`data_gen/sweeps/scoring.py`). Sounds are embedded whole; each `--truncate-s`
value also scores them cut to that length with a 0.1 s fade, as the reference code does (1 s).
The output folder gets `table.md`, `results.json`, `ranking.png` and
`strips/<synth>_<attribute>.png` (the spectrograms of one sweep per attribute); no audio.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from data_gen.audio import get_audio_model, list_audio_models, runs_offline
from data_gen.sweeps.definitions import ATTRIBUTES, SYNTH_SWEEPS
from data_gen.sweeps.report import write_results
from data_gen.sweeps.study import StudySize, mode_name, ranking_settings, run_synth
from experiments.common.sizes import parse_sized
from experiments.common.stages import command_line, portable_path

QUICK = {
    "synths": "minisub",
    "presets": 2,
    "values": 5,
    "attributes": "amp_attack,filter_cutoff,lfo_rate_on_pitch,pitch_coarse",
}
PAPER_ORDER = "mn20_mel 0.954 > mn04_mel 0.946 > mn20 0.931 > mel128 0.908 > mn04 0.902"


def choose_models(names: list[str]) -> tuple[list[str], dict[str, str]]:
    """The models to run and, for the others, why they are skipped."""
    unknown = sorted(set(names) - set(list_audio_models()))
    if unknown:
        sys.exit(f"--models: unknown {unknown}; known: {', '.join(list_audio_models())}")
    skipped = {
        n: "official weights not in the cache (no download here)"
        for n in names
        if not runs_offline(n)
    }
    return [n for n in names if n not in skipped], skipped


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=portable_path, default="runs/audio_model_ranking")
    p.add_argument("--synths", default=",".join(SYNTH_SWEEPS), help="comma-separated")
    p.add_argument("--models", default=",".join(list_audio_models()), help="comma-separated")
    p.add_argument(
        "--presets", type=int, default=5, help="starting presets per attribute (paper: 10)"
    )
    p.add_argument("--values", type=int, default=20, help="values per sweep")
    p.add_argument("--attributes", default=None, help="comma-separated subset (default: all)")
    p.add_argument(
        "--truncate-s",
        type=float,
        nargs="*",
        default=[],
        help="also score sounds cut to these lengths",
    )
    p.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help=f"smoke size: {QUICK}")
    args = parse_sized(p, argv, lambda a: QUICK if a.quick else {})
    synths = args.synths.split(",")
    bad = sorted(set(synths) - set(SYNTH_SWEEPS))
    if bad:
        p.error(f"--synths: no sweeps for {bad}; defined for {sorted(SYNTH_SWEEPS)}")
    attributes = tuple(args.attributes.split(",")) if args.attributes else None
    if attributes and set(attributes) - set(ATTRIBUTES):
        unknown = sorted(set(attributes) - set(ATTRIBUTES))
        p.error(f"--attributes: unknown {unknown}; known: {', '.join(ATTRIBUTES)}")
    if args.presets < 1 or args.values < 3:
        p.error("--presets must be >= 1 and --values >= 3 (a ranking needs at least 2 others)")
    if any(t <= 0.1 or t > ranking_settings().render_duration for t in args.truncate_s):
        p.error(f"--truncate-s: lengths must be in (0.1, {ranking_settings().render_duration}] s")
    names, skipped = choose_models(args.models.split(","))
    for name, why in skipped.items():
        print(f"[audio_model_ranking] {name} skipped: {why}", flush=True)
    if not names:
        sys.exit("no audio model can run: none of --models runs offline")
    models = {n: get_audio_model(n) for n in names}
    truncations = [None, *args.truncate_s]
    size = StudySize(num_presets=args.presets, num_values=args.values, attributes=attributes)
    start = time.perf_counter()
    studies = [
        run_synth(
            s, models, size, truncations, args.seed, args.workers, lambda m: print(m, flush=True)
        )
        for s in synths
    ]
    meta = {
        "command": command_line("experiments.audio_model_ranking", argv),
        "seconds": time.perf_counter() - start,
        "workers": args.workers,
        "seed": args.seed,
        "size": vars(size),
        "render": ranking_settings().to_json(),
        "models": {n: models[n].version for n in names},
        "skipped_models": skipped,
        "paper_order": PAPER_ORDER,
    }
    modes = [mode_name(t) for t in truncations]
    try:
        write_results(Path(args.out), studies, names, modes, meta)
    except FileExistsError as err:
        sys.exit(f"--out: {err}; not replaced")
    print(f"[audio_model_ranking] wrote {args.out} in {meta['seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
