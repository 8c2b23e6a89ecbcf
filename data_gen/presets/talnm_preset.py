"""TAL-NoiseMaker `.noisemakerpreset` files (XML) -> the `talnm` spec's raw [0, 1] values.

The file is `<tal ...><programs><program programname="..." volume="0.5" cutoff="1" .../>
</programs></tal>`: each program's attributes are the plug-in's normalized parameter values, named
by the plug-in's short parameter names (lower case, no separators: `osc1waveform`). Those equal
the spec's names with the underscores removed, except for the few in `_ALIASES`.
Attributes that carry no parameter (`programname`, `category`, ...) are ignored; any other
unknown attribute is an error, or with `lenient` a warning (the attribute is then ignored, the
program kept). Child elements (e.g. envelope spline points) are ignored.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from data_gen.presets.errors import PresetFileError, problem
from data_gen.presets.presets_json import ImportedPreset
from data_gen.synths.spec import SynthSpec

# The plug-in's short name where it is not the spec name without underscores.
_ALIASES = {
    "volume": "master_volume",
    "cutoff": "filter_cutoff",
    "resonance": "filter_resonance",
    "keyfollow": "filter_keyfollow",
    "portamento": "portamento_amount",
    "velocitycutoff": "velocity_filter",
    "highpass": "master_high_pass",
    "detune": "master_detune",
    "envelopeeditordest1": "envelope_destination",
    "envelopeeditorspeed": "envelope_speed",
    "envelopeeditoramount": "envelope_amount",
    "envelopeoneshot": "envelope_one_shot_mode",
    "envelopefixtempo": "envelope_fix_tempo",
    "delayfactorl": "delay_x2_l",
    "delayfactorr": "delay_x2_r",
}
META_ATTRIBUTES = frozenset({"programname", "category", "path", "presetname", "author", "tags"})


def attribute_map(spec: SynthSpec) -> dict[str, str]:
    """Plug-in attribute name -> spec parameter name."""
    names = {p.name for p in spec.params}
    out = {re.sub(r"[^a-z0-9]", "", n.lower()): n for n in names}
    out.update({k: v for k, v in _ALIASES.items() if v in names})
    return out


def parse_noisemaker_preset(
    text: str, spec: SynthSpec, source: str = "<text>", lenient: bool = False
) -> list[ImportedPreset]:
    """XML text -> one preset per `<program>`."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as err:
        raise PresetFileError(source, f"not valid XML: {err}") from err
    if root.tag != "tal":
        raise PresetFileError(source, f"not a TAL preset (root element <{root.tag}>, not <tal>)")
    programs = list(root.iter("program"))
    if not programs:
        raise PresetFileError(source, "no <program> element")
    names = attribute_map(spec)
    presets = []
    for k, program in enumerate(programs, start=1):
        name = program.get("programname", f"program {k}")
        item = f"program {k} {name!r}"
        values, ok = {}, True
        for attr, text_value in program.attrib.items():
            key = attr.lower()
            if key in META_ATTRIBUTES:
                continue
            if key not in names:
                problem(lenient, source, f"unknown parameter attribute {attr!r}", item)
                continue
            try:
                value = float(text_value)
            except ValueError:
                value = math.nan
            if not 0.0 <= value <= 1.0:
                problem(lenient, source, f"{attr}={text_value!r} is not a value in [0, 1]", item)
                ok = False
                break
            values[names[key]] = value
        if ok:
            presets.append(ImportedPreset(name, f"{source}#{k}", values))
    return presets


def read_noisemaker_preset(
    path: str | Path, spec: SynthSpec, lenient: bool = False
) -> list[ImportedPreset]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PresetFileError(str(path), f"cannot read as text: {err}") from err
    return parse_noisemaker_preset(text, spec, str(path), lenient)
