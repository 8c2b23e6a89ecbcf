"""`jaxproxy-data synth`: describe a plug-in or Faust file as an editable spec file; check one.

    jaxproxy-data synth describe /usr/lib/vst/Nekobi-vst.so --out nekobi.json
    jaxproxy-data synth describe my_synth.dsp --out my_synth.json
    jaxproxy-data synth check nekobi.json [--plugin PATH]
    jaxproxy-data generate --synth nekobi.json --split train --size 2048 --seed 1 --out data/x

`describe` loads the synth in a DawDreamer worker process, reads every parameter, guesses its
kind (data_gen.synths.describe says how) and writes the spec file with a review mark per
parameter; it prints the table a person reviews. `check` refuses a spec file that does not fit
its plug-in, with one line naming the parameter (every command taking `--synth FILE` runs it).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from data_gen.cli_support.command_line import (
    OneLineParser,
    at_least,
    fail,
    first_problem,
    in_file_problem,
    invoked_as,
    out_file_problem,
)

FAUST_SUFFIX = ".dsp"


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=invoked_as("data_gen.synths"), description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("describe", help="plug-in or Faust file -> editable spec file")
    d.add_argument("source", metavar="PLUGIN_OR_DSP", help="a VST2/VST3 plug-in or a .dsp file")
    d.add_argument("--out", required=True, help="the spec file to write (name ending in .json)")
    d.add_argument("--name", help="the synth's name (default: from the file name)")
    d.add_argument(
        "--sweep", type=at_least(3), default=1001, help="normalised values read per parameter"
    )
    d.add_argument("--timeout", type=float, default=300.0, help="seconds before giving up")
    d.add_argument(
        "--compare", metavar="SYNTH", help="also compare the guesses with a registered synth's spec"
    )
    c = sub.add_parser("check", help="refuse a spec file that does not fit its plug-in")
    c.add_argument("spec", help="a spec file (jaxproxy-data synth describe)")
    c.add_argument("--plugin", help="the plug-in file (default: the spec's source)")
    return parser


def default_name(source: Path) -> str:
    """A synth name from a file name: `Nekobi-vst.so` -> `nekobi_vst`."""
    return re.sub(r"[^a-z0-9]+", "_", source.stem.lower()).strip("_") or "synth"


def name_problem(name: str | None) -> str | None:
    """Why `name` cannot name a synth (it names dataset files and $JAXPROXY_PLUGIN_<NAME>)."""
    if name is None or re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name):
        return None
    return f"--name {name!r}: letters, digits, '_' and '-' only, starting with a letter or digit"


def source_problem(source: Path) -> str | None:
    """Why `source` cannot be described, or None."""
    from data_gen.render.plugins import not_a_plugin

    if not source.exists():
        return f"PLUGIN_OR_DSP {source}: no such file"
    if source.suffix == FAUST_SUFFIX:
        return in_file_problem(source, "PLUGIN_OR_DSP", "Faust file")
    problem = not_a_plugin(source)
    return f"PLUGIN_OR_DSP {source}: {problem}" if problem else None


def describe(args: argparse.Namespace) -> None:
    from data_gen.presets.presets_json import write_json_atomic
    from data_gen.render.probe import probe
    from data_gen.synths.describe import build_spec
    from data_gen.synths.spec_file import spec_file_json

    source = Path(args.source).expanduser().resolve()
    engine = "faust" if source.suffix == FAUST_SUFFIX else "vst"
    start = time.perf_counter()
    answer = probe(source, engine, sweep=args.sweep, timeout_s=args.timeout)
    spec, marks = build_spec(answer["rows"], args.name or default_name(source), engine, str(source))
    seconds = time.perf_counter() - start
    review = {
        "described_by": "jaxproxy-data synth describe",
        "sweep_points": args.sweep if engine == "vst" else None,
        "seconds": round(seconds, 2),
        "how": "each parameter's guess and why; 'check': true marks guesses to look at first. "
        "Edit kind/values/weights/interval/used in 'params'; this section is never read.",
        "params": marks,
    }
    write_json_atomic(args.out, spec_file_json(spec, review))  # whole or not at all
    _print_table(spec, marks)
    if args.compare:
        _print_comparison(spec, args.compare)
    counts = spec.counts()
    print(
        f"{args.out}: {len(spec.params)} parameters, {counts['used']} used ({counts['num']} num, "
        f"{counts['bin']} bin, {counts['cat']} cat), {counts['excluded']} excluded; "
        f"{sum(m['check'] for m in marks.values())} marked to check; described in {seconds:.1f} s"
    )


def _print_table(spec, marks) -> None:
    width = max(len(p.name) for p in spec.params)
    shows = max(len(m["shows"]) for m in marks.values())
    for p in spec.params:
        mark = marks[p.name]
        kind = p.kind if p.is_continuous else f"{p.kind} {p.cardinality}"
        flags = ("  " if p.used else "x ") + ("? " if mark["check"] else "  ")
        print(
            f"{p.index:4d} {flags}{p.name:<{width}}  {mark['shows']:<{shows}}  "
            f"default {p.default:<6.4g} {kind:<7} {mark['why']}"
        )
    print(
        "(x = excluded, held at its default; ? = a guess to check; defaults are raw [0, 1] values)"
    )


def _kind(t: tuple | None) -> str:
    """(kind, cardinality, used) as `cat 5`, `num -1 (excluded)`; `-` when absent."""
    return "-" if t is None else f"{t[0]} {t[1]}" + ("" if t[2] else " (excluded)")


def _print_comparison(spec, name: str) -> None:
    from data_gen.synths.describe import compare_specs
    from data_gen.synths.registry import get_spec

    rows = compare_specs(spec, get_spec(name))
    used = [r for r in rows if r["reference"][2]]
    for r in rows:
        differs = r["described"] is None or r["described"][2] != r["reference"][2]
        if differs or (r["reference"][2] and not r["agree"]):
            print(
                f"  {r['name']}: {name} {_kind(r['reference'])}, described {_kind(r['described'])}"
            )
    same_use = sum(
        r["described"] is not None and r["described"][2] == r["reference"][2] for r in rows
    )
    print(
        f"against {name}: kind and cardinality agree for {sum(r['agree'] for r in used)} of "
        f"{len(used)} used parameters; used/excluded agrees for {same_use} of {len(rows)}"
    )


def check(args: argparse.Namespace) -> None:
    from data_gen.render.fit import check_fits
    from data_gen.synths.spec_file import load_spec_file

    spec = load_spec_file(args.spec)
    path = check_fits(spec, args.plugin)
    print(f"{args.spec}: fits {path} ({len(spec.params)} parameters, {spec.num_used} used)")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "describe":
        first_problem(
            parser,
            name_problem(args.name),
            source_problem(Path(args.source).expanduser()),
            out_file_problem(args.out),
            None if args.out.endswith(".json") else f"--out {args.out}: must end in .json",
        )
    else:
        first_problem(parser, in_file_problem(args.spec, "SPEC", "spec file"))
    try:
        (describe if args.command == "describe" else check)(args)
    except (ValueError, OSError) as e:
        return fail(parser.prog, e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
