"""amsynth preset banks (plain text, native units) <-> the `amsynth` spec's raw [0, 1] values.

A bank is the line `amSynth`, then per preset `<preset> <name> NAME` followed by lines
`<parameter> NAME VALUE` (value in amsynth's own units), and optionally a final `EOF`. Older banks
omit parameters added later (e.g. `freq_mod_osc`): amsynth then uses the parameter's default, and
so do we. Values are mapped exactly with `AMSYNTH_NATIVE` (normalized = (v - min) / (max - min)).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from data_gen.presets.errors import PresetFileError, problem
from data_gen.presets.presets_json import ImportedPreset
from data_gen.synths.amsynth import AMSYNTH_NATIVE

MAGIC = "amSynth"
_PRESET = "<preset> <name>"
_PARAMETER = "<parameter>"


@dataclasses.dataclass(frozen=True)
class AmsynthPreset:
    """One bank entry: name and native values, in file order."""

    name: str
    values: dict[str, float]


def parse_amsynth_bank(
    text: str, source: str = "<text>", lenient: bool = False
) -> list[AmsynthPreset]:
    """Bank text -> presets. Unknown parameters, bad numbers and out-of-range values raise
    `PresetFileError` naming the file, line and preset; `lenient` warns and skips the preset."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != MAGIC:
        raise PresetFileError(source, f"not an amsynth bank (first line is not {MAGIC!r})")
    presets: list[AmsynthPreset] = []
    name: str | None = None
    values: dict[str, float] = {}
    broken = False

    def flush() -> None:
        if name is not None and not broken:
            presets.append(AmsynthPreset(name, values))

    for number, line in enumerate(lines[1:], start=2):
        line = line.strip()
        if not line:
            continue
        if line.startswith(_PRESET):
            flush()
            name, values, broken = line[len(_PRESET) :].strip(), {}, False
            continue
        if line == "EOF" or line.startswith("EOF"):
            break
        item = f"line {number}" + (f", preset {len(presets) + 1} {name!r}" if name else "")
        error = _parameter_error(line, name, values)
        if error:
            problem(lenient, source, error, item)
            broken = True
    flush()
    if not presets:
        raise PresetFileError(source, "no preset could be read")
    return presets


def _parameter_error(line: str, name: str | None, values: dict[str, float]) -> str | None:
    """Parse one `<parameter>` line into `values`; the problem as text, or None."""
    parts = line.split()
    if parts[0] != _PARAMETER or len(parts) != 3:
        return f"expected '{_PARAMETER} NAME VALUE', got {line[:60]!r}"
    if name is None:
        return "parameter line before any <preset>"
    param, text = parts[1], parts[2]
    if param not in AMSYNTH_NATIVE:
        return f"unknown parameter {param!r}"
    try:
        value = float(text)
    except ValueError:
        return f"parameter {param!r}: {text!r} is not a number"
    rng = AMSYNTH_NATIVE[param][0]
    if not (math.isfinite(value) and rng.min <= value <= rng.max):
        return f"parameter {param!r}: {text} is outside [{rng.min:g}, {rng.max:g}]"
    values[param] = value
    return None


def to_parameters(preset: AmsynthPreset) -> dict[str, float]:
    """Native values -> the plug-in's normalized values (only those the preset sets)."""
    return {k: AMSYNTH_NATIVE[k][0].to_normalized(v) for k, v in preset.values.items()}


def read_amsynth_bank(path: str | Path, lenient: bool = False) -> list[ImportedPreset]:
    """An amsynth `.bank` file -> presets with raw [0, 1] values by parameter name."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as err:
        raise PresetFileError(str(path), f"cannot read as text: {err}") from err
    return [
        ImportedPreset(p.name, f"{path}#{k}", to_parameters(p))
        for k, p in enumerate(parse_amsynth_bank(text, str(path), lenient), start=1)
    ]


def from_parameters(parameters: Mapping[str, float], name: str) -> AmsynthPreset:
    """Normalized values -> a complete preset (all 41 parameters; missing ones at defaults)."""
    values = {}
    for param, (rng, default) in AMSYNTH_NATIVE.items():
        if param in parameters:
            values[param] = rng.to_native(min(max(float(parameters[param]), 0.0), 1.0))
        else:
            values[param] = default
    return AmsynthPreset(name, values)


def format_amsynth_bank(presets: Sequence[AmsynthPreset]) -> str:
    """Presets -> bank text amsynth loads (values with 6 significant digits, as amsynth)."""
    lines = [MAGIC]
    for preset in presets:
        lines.append(f"{_PRESET} {preset.name}")
        lines += [f"{_PARAMETER} {k} {v:g}" for k, v in preset.values.items()]
    lines.append("EOF")
    return "\n".join(lines) + "\n"
