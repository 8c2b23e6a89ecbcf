"""u-he Diva `.h2p` presets (text) -> the `diva` spec's raw [0, 1] values.

An `.h2p` file is: an optional `/*@Meta ... */` comment block (author, description, ...); header
lines starting with `#` (`#AM=Diva` names the synth; `#cm=MODULE` opens a module); `Key=Value`
lines, the values in Diva's own units, belonging to the last opened module; and, after a line
`// Section for ugly compressed binary Data` or `$$$$`, binary data we ignore.

Diva's native ranges are not public and the plug-in is not on this machine, so native values
are mapped with a table the user supplies (`load_key_map`): a JSON object
`{"MODULE:Key": [spec_name, native_min, native_max], ...}`; raw = (v - min) / (max - min).
Keys absent from the table are errors (or warnings with `lenient`, the key then ignored).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from data_gen.presets.errors import PresetFileError, problem
from data_gen.presets.presets_json import ImportedPreset

KeyMap = dict[str, tuple[str, float, float]]
_BINARY_MARKERS = ("// Section for ugly compressed binary Data", "$$$$")


def parse_h2p(text: str, source: str = "<text>", lenient: bool = False) -> dict[str, float]:
    """`.h2p` text -> native values by "MODULE:Key"."""
    values: dict[str, float] = {}
    module: str | None = None
    in_meta = False
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if in_meta:
            in_meta = "*/" not in line
            continue
        if line.startswith("/*"):
            in_meta = "*/" not in line
            continue
        if not line:
            continue
        if line.startswith(_BINARY_MARKERS):
            break
        key, sep, value = line.partition("=")
        if line.startswith("#"):
            if key == "#AM" and value.strip().lower() != "diva":
                raise PresetFileError(source, f"a preset for {value.strip()!r}, not Diva")
            if key == "#cm":
                module = value.strip()
            continue
        if not sep or module is None:
            problem(
                lenient,
                source,
                f"expected 'Key=Value' inside a #cm module, got {line[:60]!r}",
                f"line {number}",
            )
            continue
        try:
            number_value = float(value)
        except ValueError:
            number_value = math.nan
        if not math.isfinite(number_value):
            problem(lenient, source, f"{key}={value!r} is not a number", f"line {number}")
            continue
        values[f"{module}:{key.strip()}"] = number_value
    if not values:
        raise PresetFileError(source, "no Diva parameter found (not an .h2p preset?)")
    return values


def load_key_map(path: str | Path) -> KeyMap:
    """The user's `{"MODULE:Key": [spec_name, native_min, native_max]}` table."""
    try:
        data = json.loads(Path(path).read_text())
        out = {str(k): (str(v[0]), float(v[1]), float(v[2])) for k, v in data.items()}
    except (OSError, ValueError, TypeError, IndexError, AttributeError) as err:
        raise PresetFileError(str(path), f"not a Diva key map: {err}") from err
    bad = [k for k, (_, lo, hi) in out.items() if not hi > lo]
    if bad:
        raise PresetFileError(str(path), f"native_max must exceed native_min for {bad}")
    return out


def to_preset(
    values: dict[str, float], key_map: KeyMap, name: str, source: str, lenient: bool = False
) -> ImportedPreset | None:
    """Native values -> a preset; None when a value is out of range and `lenient` skips it."""
    parameters = {}
    for key, value in values.items():
        if key not in key_map:
            problem(lenient, source, f"no key-map entry for {key!r}", f"preset {name!r}")
            continue
        spec_name, lo, hi = key_map[key]
        if not lo <= value <= hi:
            problem(
                lenient, source, f"{key}={value:g} outside [{lo:g}, {hi:g}]", f"preset {name!r}"
            )
            return None
        parameters[spec_name] = (value - lo) / (hi - lo)
    return ImportedPreset(name, source, parameters)


def read_h2p(path: str | Path, key_map: KeyMap, lenient: bool = False) -> list[ImportedPreset]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise PresetFileError(str(path), f"cannot read: {err.strerror}") from err
    preset = to_preset(parse_h2p(text, str(path), lenient), key_map, path.stem, str(path), lenient)
    return [preset] if preset is not None else []
