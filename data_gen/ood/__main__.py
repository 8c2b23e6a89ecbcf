"""Command line: build out-of-domain target sets for sound-matching evaluation.

python -m data_gen.ood gm --out runs/ood/gm                      # 128 programs x 3 pitches x 2 vel.
python -m data_gen.ood gm --soundfont my.sf2 --programs 0-7 --pitches 60 --out runs/ood/piano
python -m data_gen.ood nsynth data/nsynth-valid --out runs/ood/nsynth [--per-family 4]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from data_gen.cli_support.command_line import (
    OneLineParser,
    about,
    fail,
    in_dir_problem,
    in_file_problem,
    invoked_as,
    out_dir_problem,
)
from data_gen.ood import gm_notes, nsynth
from data_gen.ood.target_set import save_target_set
from data_gen.render.settings import RenderSettings


def _ints(text: str) -> list[int]:
    """'0-7,40,60' -> [0, ..., 7, 40, 60]."""
    out: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.partition("-")
            out += range(int(low), int(high or low) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like '0-7,40', got {text!r}") from None
    return out


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=invoked_as("data_gen.ood"),
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gm = sub.add_parser("gm", help="General MIDI notes rendered by fluidsynth from a .sf2")
    gm.add_argument("--out", required=True, type=Path)
    gm.add_argument("--soundfont", type=Path, default=gm_notes.DEFAULT_SOUNDFONT)
    gm.add_argument("--programs", type=_ints, default=list(range(128)), help="e.g. 0-127")
    gm.add_argument("--pitches", type=_ints, default=list(gm_notes.DEFAULT_PITCHES))
    gm.add_argument("--velocities", type=_ints, default=list(gm_notes.DEFAULT_VELOCITIES))
    gm.add_argument("--sample-rate", type=int, default=32000, help="the audio model's rate")
    gm.add_argument("--gain", type=float, default=1.0, help="fluidsynth master gain")
    gm.add_argument("--workers", type=int, default=None, help="fluidsynth processes at a time")
    ns = sub.add_parser("nsynth", help="an NSynth subset folder (examples.json + audio/)")
    ns.add_argument("root", type=Path, help="NSynth subset folder")
    ns.add_argument("--out", required=True, type=Path)
    ns.add_argument("--families", nargs="*", help="e.g. keyboard guitar")
    ns.add_argument("--sources", nargs="*", help="acoustic electronic synthetic")
    ns.add_argument("--pitches", type=_ints, help="a range such as 49-73")
    ns.add_argument("--velocities", type=_ints)
    ns.add_argument("--per-family", type=int, help="draw this many per family (seed --seed)")
    ns.add_argument("--seed", type=int, default=999)
    ns.add_argument("--sample-rate", type=int, default=32000)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    prog = f"{parser.prog} {args.command}"
    problem = out_dir_problem(args.out)
    if args.command == "gm":
        problem = problem or in_file_problem(args.soundfont, "--soundfont", "soundfont")
        if problem is None and (content := gm_notes.soundfont_problem(args.soundfont)):
            problem = f"--soundfont {args.soundfont}: {content}"
    else:
        problem = problem or in_dir_problem(args.root, "root", "NSynth folder")
    if problem:
        return fail(prog, problem)
    try:
        if args.command == "gm":
            settings = RenderSettings(sample_rate=args.sample_rate)
            notes = gm_notes.note_grid(args.programs, args.pitches, args.velocities)
            target_set = gm_notes.gm_target_set(
                notes, args.soundfont, settings, gain=args.gain, workers=args.workers
            )
        else:
            with about("root"):
                examples = nsynth.read_examples(args.root)
            pitch_range = (min(args.pitches), max(args.pitches)) if args.pitches else None
            keys = nsynth.select(
                examples,
                families=args.families,
                sources=args.sources,
                pitch_range=pitch_range,
                velocities=args.velocities,
                per_family=args.per_family,
                seed=args.seed,
            )
            if not keys:
                raise ValueError(f"{args.root}: no NSynth example passes the filters")
            target_set = nsynth.load_nsynth(args.root, keys, args.sample_rate)
        if not len(target_set):
            raise ValueError("every target was dropped (see the reasons with --out elsewhere)")
        save_target_set(args.out, target_set)
    except (ValueError, OSError, RuntimeError) as err:
        return fail(prog, err)
    print(
        f"{len(target_set)} {target_set.kind} targets ({len(target_set.dropped)} dropped) "
        f"-> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
