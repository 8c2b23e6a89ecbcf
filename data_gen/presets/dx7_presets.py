"""DX7 voices <-> the `dx7` and `dexed` specs' raw [0, 1] parameter values.

A VCED field v of range 0..M is the raw value v / M in both specs (the `dx7` spec's table
`DX7_VCED`; Dexed normalizes its DX7 fields the same way). Dexed names differ for three fields
(`p_mode_sens.`, `opN_a_mod_sens.` and `middle_c` for transpose) and add controls a DX7 voice has
no field for (cutoff, resonance, output, master tune, operator switches): those stay missing and
take the spec's default. Going back, a raw value r becomes round(r * M); fields a preset does not
set (a spec vector holds used parameters only) come from a template voice, by default one built
from the spec's defaults, i.e. the excluded parameters' held values.

What a `dx7` spec vector drops (excluded, so written back from the template): transpose, the
oscillator and LFO key sync flags, and per operator the break point, left/right scale depths and
curves, rate scaling and key velocity sensitivity. The voice name is not a parameter either.
Processing also clips eg_rate_4 to [0.45, 1] and lfo_delay to [0, 0.5] and snaps an S&H LFO to
its nearest allowed wave, so a vector round trip changes exactly those fields (tested); the voice
layer itself (`dx7_sysex`) round-trips every byte. Dexed's `middle_c` is taken as transpose / 48
(not checked against the plug-in; it is excluded and held at 0.5 in the paper's spec).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from data_gen.presets.dx7_sysex import Dx7Voice, init_voice
from data_gen.presets.presets_json import ImportedPreset
from data_gen.synths.dx7 import DX7_VCED
from data_gen.synths.spec import SynthSpec

DX7_SYNTHS = ("dx7", "dexed")
_DEXED_RENAMES = {"p_mode_sens": "p_mode_sens.", "transpose": "middle_c"}


def synth_names(synth: str) -> dict[str, str]:
    """DX7 field (dx7 spec name) -> parameter name in `synth` ("dx7" or "dexed")."""
    if synth == "dx7":
        return {name: name for name in DX7_VCED}
    if synth == "dexed":
        out = {}
        for name in DX7_VCED:
            out[name] = _DEXED_RENAMES.get(
                name, name + "." if name.endswith("a_mod_sens") else name
            )
        return out
    raise ValueError(f"DX7 voices map to {DX7_SYNTHS}, not {synth!r}")


def voice_to_parameters(voice: Dx7Voice, synth: str = "dx7") -> dict[str, float]:
    """Every DX7 field of a voice as `synth`'s raw [0, 1] value."""
    names = synth_names(synth)
    return {names[field]: voice.value(field) / vmax for field, (_, vmax) in DX7_VCED.items()}


def voices_to_presets(
    voices: Sequence[Dx7Voice], source: str, synth: str = "dx7"
) -> list[ImportedPreset]:
    return [
        ImportedPreset(v.name, f"{source}#{k}", voice_to_parameters(v, synth))
        for k, v in enumerate(voices, start=1)
    ]


def parameters_to_voice(
    parameters: Mapping[str, float], name: str, synth: str = "dx7", template: Dx7Voice | None = None
) -> Dx7Voice:
    """Raw values by `synth` name -> a voice; fields not given keep the template's value."""
    fields = list((template or init_voice()).fields)
    for field, synth_name in synth_names(synth).items():
        if synth_name in parameters:
            offset, vmax = DX7_VCED[field]
            raw = min(max(float(parameters[synth_name]), 0.0), 1.0)
            fields[offset] = math.floor(raw * vmax + 0.5)
    return Dx7Voice(tuple(fields)).with_name(name)


def spec_template(spec: SynthSpec) -> Dx7Voice:
    """A voice holding every spec parameter's default (INIT VOICE for fields the spec lacks)."""
    defaults = {p.name: p.default for p in spec.params}
    return parameters_to_voice(defaults, "INIT VOICE", spec.name.partition("@")[0])


def vector_to_voice(
    spec: SynthSpec, vector: np.ndarray, name: str, template: Dx7Voice | None = None
) -> Dx7Voice:
    """A preset vector (e.g. an estimator's prediction) -> a voice a DX7 or Dexed loads.

    Parameters the vector does not hold (excluded ones) come from `template`, by default the
    spec's held values, so the voice sounds as the renderer played the vector.
    """
    raw = spec.to_render_values(np.asarray(vector)[None])[0]
    parameters = {p.name: float(r) for p, r in zip(spec.used_params, raw, strict=True)}
    base = template if template is not None else spec_template(spec)
    return parameters_to_voice(parameters, name, spec.name.partition("@")[0], base)
