"""`jaxproxy zoo`: the shipped models with their figures and the command that made each."""

from __future__ import annotations

import sys

from data_gen.cli_support.command_line import OneLineParser, invoked_as
from jaxproxy import zoo


def table(entries: list[zoo.Entry]) -> str:
    """One row per shipped synth, then each one's test sets and command."""
    head = ("synth", "size", "proxy test MRR", "estimator a_mean (in domain)", "stored", "MB")
    rows = [head]
    for e in entries:
        proxy, est = e.info["proxy"], e.info["estimator"]
        rows.append((e.synth, e.info["size"], f"{proxy['test_mrr']:.4f}",
                     f"{est['a_mean_in_domain']:.4f} ({est['schedule']})", e.info["precision"],
                     f"{e.info['files_mb']:.1f}"))  # fmt: skip
    widths = [max(len(row[k]) for row in rows) for k in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    for e in entries:
        info, proxy, est = e.info, e.info["proxy"], e.info["estimator"]
        lines += [
            "",
            f"{e.synth}: proxy {proxy['encoder']} on {proxy['audio_model']}, MRR on "
            f"{proxy['test_set']}; a_mean (lower is better) on {est['test_set']}",
            f"  made by: {info['command']}  ({info['wall_time_s'] / 60:.0f} min wall, "
            f"load {info['load_average']['at_start_5min']} on {info['load_average']['cpus']} CPUs)",
            f"  folder: {e.folder}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog=invoked_as("jaxproxy.zoo"), description=__doc__)
    parser.parse_args(argv)
    entries = zoo.entries()
    if not entries:
        print("no shipped models (python -m experiments.zoo --synth SYNTH makes one)")
        return 0
    print(table(entries))
    print("\nuse one: jaxproxy match sound.wav --synth SYNTH --out matched/  (--refine N: "
          "the shipped proxy refines)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
