"""The paper's exact Dexed, Diva and TAL-NoiseMaker specs, built from the reference's TSV tables.

Each `paper/params-<synth>.tsv` row is one VST parameter as the paper's code defines it: type,
used or excluded (the reference's exclusion patterns already applied), allowed values after
excluded categories, sampling weights or interval, and the value an excluded parameter is held at.
`Param.index` is the VST parameter index; `SynthSpec.source` is the plug-in file name the user
supplies (these plug-ins are not shipped): `--plugin PATH` or `$JAXPROXY_PLUGIN_<SYNTH>` point the
renderer at it (`data_gen.render.plugins`), outside the spec and its fingerprint.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
from pathlib import Path

from data_gen.synths.spec import Param, SynthSpec

PAPER_DIR = Path(__file__).parent / "paper"
_KINDS = {"num_continuous": "num", "num_discrete": "num", "bin": "bin", "cat": "cat"}

# Diva's modulation-source parameters have 24 plug-in categories, round(k / 23, 3).
_DIVA_MOD_SOURCES = tuple(round(k / 23, 3) for k in range(24))
# The configs' `vca:*` patterns were meant for these `vca1:*` parameters but match nothing.
_DIVA_VCA_INTENDED = tuple(
    f"vca1:{n}" for n in ("pan", "volume", "vca", "panmodulation", "panmoddepth", "mode", "offset")
)


def _floats(text: str, where: str) -> tuple[float, ...] | None:
    text = text.strip().strip("[]")
    if not text:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError as err:
        raise ValueError(f"{where}: expected comma-separated numbers, got {text!r}") from err


def read_param_table(path: Path) -> tuple[list[Param], list[dict[str, str]]]:
    """Parameters of one reference TSV (in VST-index order) and its raw rows."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    params = []
    for line, row in enumerate(rows, start=2):
        where = f"{path.name} line {line} ({row.get('name')!r})"
        kind = _KINDS.get(row["type"])
        if kind is None or row["used"] not in ("yes", "no"):
            raise ValueError(f"{where}: unknown type {row['type']!r} or used {row['used']!r}")
        values = _floats(row["values"], f"{where} values")
        params.append(
            Param(
                name=row["name"],
                kind=kind,
                index=int(row["vst_index"]),
                cardinality=int(row["cardinality"]),
                values=values,
                weights=_floats(row["sampling_weights"], f"{where} weights") if values else None,
                interval=_floats(row["interval"], f"{where} interval") or (0.0, 1.0),
                default=float(row["default_value"] or 0.0),
                used=row["used"] == "yes",
            )
        )
    return params, rows


@functools.cache
def _table(synth: str) -> tuple[tuple[Param, ...], tuple[dict[str, str], ...]]:
    params, rows = read_param_table(PAPER_DIR / f"params-{synth}.tsv")
    return tuple(params), tuple(rows)


def _paper_spec(name: str, source: str, description: str, notes=(), params=None) -> SynthSpec:
    return SynthSpec(
        name=name,
        engine="vst",
        source=source,
        params=params if params is not None else _table(name)[0],
        description=description,
        notes=tuple(notes),
    )


def dexed_spec() -> SynthSpec:
    """Dexed (VST): 100 used parameters, 92 numerical (20 discretised), 0 binary, 8 categorical."""
    return _paper_spec(
        "dexed",
        "Dexed.vst3",
        "Dexed DX7 emulation, the paper's spec (reference params-dexed.tsv).",
        notes=("Excluded parameters held at the paper's defaults; operators always on.",),
    )


def talnm_spec() -> SynthSpec:
    """TAL-NoiseMaker (VST): 59 used parameters, 48 numerical, 3 binary, 8 categorical."""
    return _paper_spec(
        "talnm",
        "TAL-NoiseMaker.vst3",
        "TAL-NoiseMaker, the paper's spec (reference params-talnm.tsv).",
        notes=("VST indices 0 ('-'), 69 (panic) and 70 (midi_learn) are never touched.",),
    )


def diva_spec(variant: str = "") -> SynthSpec:
    """Diva (VST), the paper's 173-parameter spec by default.

    Variants: "paper_era" gives `osc:noisevolmodsrc` its 24 plug-in categories, as in the
    released mn04 datasets and checkpoints (one-hot width 412); "vca_fixed" applies the intended
    `vca1:*` exclusions (166 used parameters), which no paper dataset used.
    """
    notes = [
        "Default = the paper's behaviour: the reference's vca:* exclusion patterns match nothing "
        "(parameters are named vca1:*), so the 9 vca1:* parameters are used (173 used). "
        "Variant diva@vca_fixed excludes the 7 intended ones (166 used).",
        "osc:noisevolmodsrc has 8 allowed values (current reference code, one-hot width 396). "
        "The released mn04 datasets used all 24 categories (one-hot width 412): variant "
        "diva@paper_era.",
    ]
    params = list(_table("diva")[0])
    if variant == "paper_era":
        i = next(k for k, p in enumerate(params) if p.name == "osc:noisevolmodsrc")
        params[i] = dataclasses.replace(params[i], values=_DIVA_MOD_SOURCES, weights=None)
    elif variant == "vca_fixed":
        params = [
            dataclasses.replace(p, used=False) if p.name in _DIVA_VCA_INTENDED else p
            for p in params
        ]
    elif variant:
        raise ValueError(f"unknown diva variant {variant!r}; known: paper_era, vca_fixed")
    return _paper_spec(
        f"diva@{variant}" if variant else "diva",
        "Diva.vst3",
        "u-he Diva, the paper's spec (reference params-diva.tsv).",
        notes=notes,
        params=tuple(params),
    )


def paper_table_rows(synth: str) -> tuple[dict[str, str], ...]:
    """The raw TSV rows of a paper synth, for checks against the reference's layout columns."""
    return _table(synth)[1]
