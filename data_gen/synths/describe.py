"""Guess an editable synth spec from what a plug-in or Faust DSP says about its parameters.

Input: one probe row per parameter, as `data_gen.render.probe` reads them in a DawDreamer worker.
A VST row holds the plug-in's own value text at `sweep_points` evenly spaced normalised values
(the way amsynth's native-unit mapping was checked against its text); a Faust row holds the
slider's range, step and whether DawDreamer calls it discrete. Output: a `SynthSpec` plus one
review mark per parameter saying what was guessed and why, and whether a person should look.

The guess, per parameter (each threshold is a judgement; the review marks say which one fired):
- a VST parameter whose text changes at almost every sweep point, or a Faust slider with more than
  `MAX_STEPS` steps, is continuous numerical;
- otherwise it has n steps (the runs of equal text / the slider's steps). Two steps are binary,
  unless the name reads like a selector (`SELECTOR_WORDS`: "filter_slope") or the two texts are
  words that are not on/off ("Square"/"Triangle"): categorical;
- more steps are categorical when their texts are words (labels: the texts), or when they are
  the integers 0.. or 1.. (an index) and either few (<= `INDEX_CAT_MAX`) or named like a selector
  ("lfo_waveform"); any other stepped parameter is discretised numerical ("osc2_pitch" -12..12);
- a parameter whose name holds a word of `EXCLUDE_WORDS` (master volume, tuning, MIDI channel,
  polyphony, portamento, key/velocity tracking, effect sends) is proposed for exclusion and held at
  its default, as the paper excludes Diva's `*keyfollow`/`*velocity` (one note, one velocity).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from data_gen.synths.spec import Param, SynthSpec

MAX_STEPS = 64  # more distinct values than this: treat as continuous
INDEX_CAT_MAX = 3  # an unnamed 0..n-1 index with at most this many values is a choice


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SELECTOR_WORDS = _words(
    "wave waveform waveshape shape type mode slope select selector algo algorithm source "
    "src dest destination target routing route model"
)
EXCLUDE_WORDS = _words(
    "master vol volume tuning transpose midi channel poly polyphony voices voice "
    "unison portamento porta glide legato keyboard kbd key keytrack keyfollow vel "
    "velocity send sends bend pitchbend"
)
ON_OFF_TEXTS = _words("0 1 off on false true no yes disabled enabled")
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")


def name_words(name: str) -> set[str]:
    """Lower-case words of a parameter name: `filter_vel_sens`, `LFO1 Wave`, `ampAttack`."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    words = re.split(r"[^A-Za-z]+", spaced)
    return {w.lower() for w in words if w}


def _number(text: str) -> float | None:
    match = _NUMBER.match(text)
    return float(match.group(1)) if match else None


def text_runs(texts: Sequence[str]) -> list[tuple[str, int, int]]:
    """Consecutive equal texts of a sweep: (text, first sweep position, last sweep position)."""
    runs: list[tuple[str, int, int]] = []
    for k, text in enumerate(texts):
        if runs and runs[-1][0] == text:
            runs[-1] = (text, runs[-1][1], k)
        else:
            runs.append((text, k, k))
    return runs


def _run_value(k: int, n: int, first: float, last: float) -> float:
    """The raw value sent for step k of n whose texts span [first, last] of the sweep.

    The grid value k / (n - 1) (what a plug-in rounding to the nearest step expects, and what the
    hand-written specs use) when it lies in the run, else the run's midpoint (plug-ins that floor).
    """
    for digits in (3, 4):
        grid = round(k / (n - 1), digits)
        if first <= grid <= last:
            return grid
    return round((first + last) / 2, 6)


def _discrete_kind(name: str, texts: Sequence[str], hinted: bool) -> tuple[str, str]:
    """(kind, why) of a stepped parameter showing `texts`, one per step in order."""
    n = len(texts)
    numbers = [_number(t) for t in texts]
    selector = bool(name_words(name) & SELECTOR_WORDS) or hinted
    if all(v is not None for v in numbers):
        start = numbers[0]
        index = start in (0.0, 1.0) and numbers == [start + k for k in range(n)]
        if n == 2:
            if selector:
                return "cat", "2 steps, named like a selector"
            return "bin", "2 steps"
        if index and (n <= INDEX_CAT_MAX or selector):
            why = "named like a selector" if selector else f"at most {INDEX_CAT_MAX} choices"
            return "cat", f"{n} steps shown as an index {texts[0]}..{texts[-1]}, {why}"
        return "num", f"{n} numeric steps {texts[0]}..{texts[-1]}"
    if n == 2 and {t.strip().lower() for t in texts} <= ON_OFF_TEXTS and not selector:
        return "bin", f"2 steps shown as {texts[0]!r}/{texts[1]!r}"
    return "cat", f"{n} steps shown as words"


def _exclusion(name: str) -> str | None:
    hits = sorted(name_words(name) & EXCLUDE_WORDS)
    return f"proposed exclusion (name has {', '.join(hits)})" if hits else None


def guess_vst_param(row: dict[str, Any]) -> tuple[Param, dict[str, Any]]:
    """A plug-in parameter's Param and review mark from its probe row (texts over the sweep)."""
    name, index, default = row["name"], int(row["index"]), float(row["default"])
    texts = row["texts"]
    points = len(texts)
    runs = text_runs(texts)
    unit = f" {row['unit']}" if row.get("unit") else ""
    review: dict[str, Any] = {
        "plugin_name": row["plugin_name"],
        "shows": f"{texts[0].strip()} .. {texts[-1].strip()}{unit}",  # the plug-in's own range
        "check": False,
    }
    distinct = len({t for t, _, _ in runs})
    if len(runs) == 1:
        param = Param(name, "num", index, default=default, used=False)
        why = f"shows one text ({texts[0]!r}) over the whole range: excluded, probably inert"
        review |= {"guess": "num", "why": why, "check": True}
        return param, review
    if len(runs) > MAX_STEPS or len(runs) * 4 > points or distinct != len(runs):
        why = f"{distinct} distinct texts over {points} sweep points: continuous"
        if distinct != len(runs):
            why += " (texts repeat non-adjacently)"
        param = Param(name, "num", index, default=default)
        review |= {"guess": "num", "why": why, "check": 8 < len(runs) <= MAX_STEPS}
    else:
        n = len(runs)
        step_texts = [t for t, _, _ in runs]
        kind, why = _discrete_kind(name, step_texts, bool(row.get("discrete_hint")))
        last = points - 1
        values = tuple(_run_value(k, n, a / last, b / last) for k, (_, a, b) in enumerate(runs))
        labels = tuple(step_texts) if kind == "cat" else None
        if kind == "bin" and values != (0.0, 1.0):
            kind, why = "cat", why + " at values other than 0/1: categorical"
            labels = tuple(step_texts)
        if kind == "num":
            param = Param(name, "num", index, values=values, default=default)
        else:
            param = Param(name, kind, index, values=values, labels=labels, default=default)
        review |= {"guess": kind, "why": why, "check": kind == "num" or n == 2}
    return _apply_exclusion(param, review)


def guess_faust_param(row: dict[str, Any]) -> tuple[Param, dict[str, Any]]:
    """A Faust slider's Param and review mark from its range, step and discreteness."""
    name, index = row["name"], int(row["index"])
    lo, hi, step = float(row["min"]), float(row["max"]), float(row["step"]) or 1.0
    span = hi - lo
    default = (float(row["value"]) - lo) / span if span > 0 else 0.0
    review: dict[str, Any] = {"plugin_name": row["address"], "shows": f"{lo:g} .. {hi:g}"}
    review["check"] = False
    steps = round(span / step) + 1 if span > 0 else 1
    common = dict(address=row["address"], default=round(default, 6))
    if steps > MAX_STEPS:
        param = Param(name, "num", index, **common)
        why = f"slider {lo:g}..{hi:g} step {step:g}: {steps} steps, continuous"
        review |= {"guess": "num", "why": why}
        return _apply_exclusion(param, review)
    if steps < 2:
        param = Param(name, "num", index, used=False, **common)
        review |= {"guess": "num", "why": "slider with a single value: excluded", "check": True}
        return param, review
    labels = row.get("labels")
    if labels and len(labels) == steps:
        texts = list(labels)
    else:
        texts = [f"{lo + k * step:g}" for k in range(steps)]
    kind, why = _discrete_kind(name, texts, bool(row.get("discrete")) and steps > 2)
    values = tuple(round(k / (steps - 1), 3) for k in range(steps))
    if kind == "num":
        param = Param(name, "num", index, values=values, **common)
    else:
        labels_out = tuple(texts) if kind == "cat" else None
        param = Param(name, kind, index, values=values, labels=labels_out, **common)
    review |= {"guess": kind, "why": f"slider {lo:g}..{hi:g} step {step:g}: {why}"}
    review["check"] = kind == "num"
    return _apply_exclusion(param, review)


def _apply_exclusion(param: Param, review: dict[str, Any]) -> tuple[Param, dict[str, Any]]:
    reason = _exclusion(param.name)
    if reason is None:
        return param, review
    review = dict(review, why=f"{review['why']}; {reason}", check=True)
    return dataclasses.replace(param, used=False), review


def unique_names(names: Sequence[str]) -> list[str]:
    """Parameter names made unique: a repeated name gets " [index]" (its plug-in index)."""
    stripped = [n.strip() or f"param {i}" for i, n in enumerate(names)]
    return [n if stripped.count(n) == 1 else f"{n} [{i}]" for i, n in enumerate(stripped)]


def build_spec(
    rows: Sequence[dict[str, Any]], name: str, engine: str, source: str
) -> tuple[SynthSpec, dict[str, dict[str, Any]]]:
    """The guessed spec of a probed synth and its review marks, keyed by parameter name."""
    guess = guess_vst_param if engine == "vst" else guess_faust_param
    names = unique_names([r["label"] for r in rows])
    params, marks = [], {}
    for row, pname in zip(rows, names, strict=True):
        param, mark = guess({**row, "name": pname})
        params.append(param)
        marks[pname] = mark
    kinds = {k: sum(p.used and p.kind == k for p in params) for k in ("num", "bin", "cat")}
    spec = SynthSpec(
        name=name,
        engine=engine,
        source=source,
        params=tuple(params),
        description=f"described from {source} by `jaxproxy-data synth describe`: "
        f"{len(params)} parameters, {sum(kinds.values())} used ({kinds['num']} numerical, "
        f"{kinds['bin']} binary, {kinds['cat']} categorical); review the guesses.",
    )
    return spec, marks


def fit_problem(spec: SynthSpec, answer: dict[str, Any]) -> str | None:
    """Why `spec` does not fit the probed synth (`data_gen.render.probe` answer), or None.

    One line naming the first parameter whose index, name or address the synth lacks, or whose
    allowed values the synth cannot tell apart (two values showing the same text, or landing on
    the same slider step): its cardinality is contradicted by the synth itself.
    """
    rows = answer["rows"]
    if spec.engine == "faust":
        by_address = {r["address"]: r for r in rows}
        for p in spec.params:
            row = by_address.get(p.address) if p.address else None
            if row is None and p.address is None and 0 <= p.index < len(rows):
                row = rows[p.index]
            if row is None:
                where = f"address {p.address!r}" if p.address else f"index {p.index}"
                return f"parameter {p.name!r}: the DSP has no slider at {where}"
            if p.values is not None:
                lo, hi, step = row["min"], row["max"], row["step"] or 1.0
                steps = [round(v * (hi - lo) / step) for v in p.values]
                if len(set(steps)) < len(steps):
                    return (
                        f"parameter {p.name!r}: {p.cardinality} allowed values, but the slider "
                        f"{lo:g}..{hi:g} step {step:g} has only {round((hi - lo) / step) + 1}"
                    )
        return None
    for p in spec.params:
        if not 0 <= p.index < len(rows):
            return (
                f"parameter {p.name!r}: index {p.index}, but the plug-in has {len(rows)} parameters"
            )
        plugin_name = rows[p.index]["plugin_name"]
        if p.name not in (plugin_name, f"{plugin_name.strip()} [{p.index}]", plugin_name.strip()):
            return f"parameter {p.name!r}: the plug-in's parameter {p.index} is {plugin_name!r}"
        texts = answer["texts_at"].get(str(p.index))
        if p.values is not None and texts is not None and len(set(texts)) < len(texts):
            same = next(t for t in texts if texts.count(t) > 1)
            return (
                f"parameter {p.name!r}: {p.cardinality} allowed values, but the plug-in shows "
                f"{same!r} for more than one of them ({len(set(texts))} distinct)"
            )
    return None


def compare_specs(described: SynthSpec, reference: SynthSpec) -> list[dict[str, Any]]:
    """Parameter by parameter, the described guess against a hand-written spec of the same synth.

    Parameters pair up by Faust address, else by name. Each row: name, both (kind, cardinality,
    used), and `agree` (same kind and cardinality) for a parameter the reference uses.
    """
    key = (lambda p: p.address) if reference.engine.startswith("faust") else (lambda p: p.name)
    guessed = {key(p): p for p in described.params}
    rows = []
    for ref in reference.params:
        got = guessed.get(key(ref))
        rows.append(
            {
                "name": ref.name,
                "reference": (ref.kind, ref.cardinality, ref.used),
                "described": None if got is None else (got.kind, got.cardinality, got.used),
                "agree": got is not None
                and (got.kind, got.cardinality) == (ref.kind, ref.cardinality),
            }
        )
    return rows
