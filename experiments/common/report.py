"""Results folders: markdown tables with the paper's numbers beside ours, findings, the JSON of all.

Everything here works on the cell dictionaries `experiments.common.cells.run_cell` returns.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

from experiments.common.paper_numbers import ENCODER_NAMES, PAPER_ORDER


def metric(cell: Mapping, test: str, name: str) -> tuple[float, float] | None:
    """(mean, std) of a test-protocol metric of a cell on a test set, None if not evaluated."""
    evaluation = cell["evaluations"].get(test)
    if evaluation is None:
        return None
    m = evaluation["metrics"][name]
    return m["mean"], m["std"]


def pm(value: tuple[float, float] | None, digits: int = 3) -> str:
    """ "0.872 ± 5e-3" (the paper's style), or "-"."""
    if value is None:
        return "-"
    mean, std = value
    return f"{mean:.{digits}f} ± {std:.0e}"


def pct(new: float, old: float) -> str:
    return f"{100 * (new - old) / old:+.1f}%" if old else "-"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ordering_finding(cells: Sequence[Mapping], test: str = "synthetic") -> dict[str, object]:
    """Does our MRR order the encoders as the paper's TFM > HN-PTGRU > HN-OH > HN-PT > MLP-OH?"""
    mrr = {c["encoder"]: metric(c, test, "mrr") for c in cells}
    present = [e for e in PAPER_ORDER if mrr.get(e) is not None]
    ours = sorted(present, key=lambda e: -mrr[e][0])
    pairs = [(a, b) for i, a in enumerate(present) for b in present[i + 1 :]]
    agree = [(a, b) for a, b in pairs if mrr[a][0] > mrr[b][0]]
    # A pair is "clear" when the means differ by more than both stds added (runs overlap less).
    unclear = [(a, b) for a, b in pairs if abs(mrr[a][0] - mrr[b][0]) <= mrr[a][1] + mrr[b][1]]
    names = [ENCODER_NAMES[e] for e in present]
    reproduced = len(agree) == len(pairs)
    chain = " > ".join(f"{ENCODER_NAMES[e]} ({mrr[e][0]:.3f})" for e in ours)
    sentence = (
        f"Paper: {' > '.join(names)} on synthetic presets. Ours ({test} MRR): {chain}. "
        + ("Reproduced" if reproduced else "Not reproduced")
        + f": {len(agree)} of {len(pairs)} pairwise orderings agree"
        + (
            f"; {len(unclear)} pair(s) within the runs' std: "
            + ", ".join(f"{ENCODER_NAMES[a]}/{ENCODER_NAMES[b]}" for a, b in unclear)
            if unclear
            else ""
        )
        + "."
    )
    return {
        "paper_order": present,
        "our_order": ours,
        "reproduced": reproduced,
        "pairs_agreeing": len(agree),
        "pairs": len(pairs),
        "pairs_within_std": [list(p) for p in unclear],
        "sentence": sentence,
    }


def drop_finding(cells: Sequence[Mapping]) -> dict[str, object] | None:
    """Synthetic -> hand-crafted: does every encoder's MRR fall and its L1 rise (paper Table 4)?"""
    rows = []
    for c in cells:
        hc = metric(c, "hand-crafted", "mrr")
        if hc is None:
            continue
        base = "synthetic-matched" if "synthetic-matched" in c["evaluations"] else "synthetic"
        syn_mrr, syn_l1 = metric(c, base, "mrr")[0], metric(c, "synthetic", "l1")[0]
        hc_l1 = metric(c, "hand-crafted", "l1")[0]
        rows.append(
            {
                "encoder": c["encoder"],
                "baseline": base,
                "mrr_synthetic": syn_mrr,
                "mrr_hand_crafted": hc[0],
                "mrr_change": (hc[0] - syn_mrr) / syn_mrr,
                "l1_synthetic": syn_l1,
                "l1_hand_crafted": hc_l1,
                "l1_change": (hc_l1 - syn_l1) / syn_l1,
            }
        )
    if not rows:
        return None
    reproduced = all(r["mrr_change"] < 0 and r["l1_change"] > 0 for r in rows)
    parts = ", ".join(
        f"{ENCODER_NAMES[r['encoder']]} MRR {r['mrr_synthetic']:.3f} -> {r['mrr_hand_crafted']:.3f}"
        f" ({100 * r['mrr_change']:+.0f}%), L1 {100 * r['l1_change']:+.0f}%"
        for r in rows
    )
    pool = (
        " (synthetic MRR at the hand-crafted set's pool size)"
        if any(r["baseline"] == "synthetic-matched" for r in rows)
        else ""
    )
    sentence = (
        "Paper: every encoder drops from synthetic to hand-crafted presets (MRR -44% to -95%, "
        f"L1 +41% to +83%). Ours{pool}: {parts}. "
        + ("Reproduced." if reproduced else "Not reproduced for every encoder.")
    )
    return {"rows": rows, "reproduced": reproduced, "sentence": sentence}


def write_json(path: str, payload: object) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(payload, f, indent=2, default=str)
    os.replace(path + ".tmp", path)


def write_text(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def commands_section(record: Mapping[str, Mapping], command: str) -> str:
    """The experiment's own command, then every stage's exact command and seconds."""
    lines = ["## Commands", "", "```", command, "```", "", "Stages (each ran once; seconds):", ""]
    lines.append(table(["stage", "seconds", "command"], [
        [name, f"{rec['seconds']:.0f}", f"`{rec['command']}`"] for name, rec in record.items()
    ]))  # fmt: skip
    return "\n".join(lines)
