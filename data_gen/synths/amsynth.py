"""The `amsynth` spec: Debian's amsynth VST2 plug-in, its 41 parameters typed like the paper's Diva.

The plug-in reports every parameter as a normalized [0, 1] value. amsynth itself (and its preset
banks) stores each parameter in native units on [min, max]; the plug-in maps native v to
normalized (v - min) / (max - min) and back, then snaps stepped parameters to
min + round((v - min) / step) * step. `AMSYNTH_NATIVE` lists (min, max, step) and the display law
(control value = offset + base * v, offset + base ** v or offset + v ** base) of each parameter,
as amsynth 1.13 defines them; tests check them against the plug-in's own text values.

Typing (reference facts 1.5/1.6 style): waveform and mode selectors are categorical, on/off
switches binary, stepped pitch controls discretised numerical, everything else continuous.
Excluded and held at the plug-in's defaults: master volume, portamento (time, mode), keyboard
mode (one note per preset), and key/velocity tracking (fixed note and velocity), as the paper
excludes Diva's `*keyfollow`/`*velocity`. Random LFO shapes (noise, sample & hold) are excluded
like Dexed/TAL-NM's S&H; noise oscillators are kept at a low weight ("not too much noise").
Attack is limited to the first half of its range (up to 1.95 s, the note lasts 2 s) and release
to 0.6 (4.7 s) so that random presets sound like notes in a 5 s render. Measured (300 random
presets, seed 0, 2 s note at MIDI 60 / velocity 100): 96.3% have an RMS in (0.01, 1), 3.7% are
too quiet, none too loud.
"""

from __future__ import annotations

import dataclasses
import math

from data_gen.synths.spec import Param, SynthSpec

AMSYNTH_VST_PATH = "/usr/lib/vst/amsynth_vst.so"


@dataclasses.dataclass(frozen=True)
class NativeRange:
    """One amsynth parameter in its own units: range, step (0 = continuous) and display law."""

    min: float
    max: float
    step: float = 0.0
    law: str = "linear"  # "linear": offset + base * v, "exp": offset + base ** v, "power"
    base: float = 1.0
    offset: float = 0.0

    def to_normalized(self, native: float) -> float:
        """Native value (as in a bank file) -> the plug-in's normalized [0, 1] value."""
        return (float(native) - self.min) / (self.max - self.min)

    def to_native(self, normalized: float) -> float:
        """Normalized [0, 1] -> native value, snapped to the step as amsynth does."""
        native = self.min + float(normalized) * (self.max - self.min)
        if self.step > 0:
            # C roundf: halves away from zero (Python's round() would go to even).
            native = self.min + math.floor((native - self.min) / self.step + 0.5) * self.step
        return native

    def control_value(self, native: float) -> float:
        """The value amsynth uses and the plug-in's parameter text shows."""
        if self.law == "linear":
            return self.offset + self.base * native
        if self.law == "exp":
            return self.offset + self.base**native
        return self.offset + native**self.base


_ENV = NativeRange(0.0, 2.5, law="power", base=3.0, offset=0.0005)
_UNIT = NativeRange(0.0, 1.0)
_SWITCH = NativeRange(0.0, 1.0, step=1.0)

# name -> (native range, native default); in VST parameter order (index = position).
AMSYNTH_NATIVE: dict[str, tuple[NativeRange, float]] = {
    "amp_attack": (_ENV, 0.0),
    "amp_decay": (_ENV, 0.0),
    "amp_sustain": (_UNIT, 1.0),
    "amp_release": (_ENV, 0.0),
    "osc1_waveform": (NativeRange(0.0, 4.0, step=1.0), 2.0),
    "filter_attack": (_ENV, 0.0),
    "filter_decay": (_ENV, 0.0),
    "filter_sustain": (_UNIT, 1.0),
    "filter_release": (_ENV, 0.0),
    "filter_resonance": (NativeRange(0.0, 0.97), 0.0),
    "filter_env_amount": (NativeRange(-16.0, 16.0), 0.0),
    "filter_cutoff": (NativeRange(-0.5, 1.5, law="exp", base=16.0), 1.5),
    "osc2_detune": (NativeRange(-1.0, 1.0, law="exp", base=1.25), 0.0),
    "osc2_waveform": (NativeRange(0.0, 4.0, step=1.0), 2.0),
    "master_vol": (NativeRange(0.0, 1.0, law="power", base=2.0), 0.67),
    "lfo_freq": (NativeRange(0.0, 7.5, law="power", base=2.0), 0.0),
    "lfo_waveform": (NativeRange(0.0, 6.0, step=1.0), 0.0),
    "osc2_range": (NativeRange(-3.0, 4.0, step=1.0, law="exp", base=2.0), 0.0),
    "osc_mix": (NativeRange(-1.0, 1.0), 0.0),
    "freq_mod_amount": (
        NativeRange(0.0, 1.25992105, law="power", base=3.0, offset=-1.0),
        0.0,
    ),
    "filter_mod_amount": (NativeRange(-1.0, 1.0), -1.0),
    "amp_mod_amount": (NativeRange(-1.0, 1.0), -1.0),
    "osc_mix_mode": (_UNIT, 0.0),
    "osc1_pulsewidth": (_UNIT, 1.0),
    "osc2_pulsewidth": (_UNIT, 1.0),
    "reverb_roomsize": (_UNIT, 0.0),
    "reverb_damp": (_UNIT, 0.0),
    "reverb_wet": (_UNIT, 0.0),
    "reverb_width": (_UNIT, 1.0),
    "distortion_crunch": (NativeRange(0.0, 0.9), 0.0),
    "osc2_sync": (_SWITCH, 0.0),
    "portamento_time": (_UNIT, 0.0),
    "keyboard_mode": (NativeRange(0.0, 2.0, step=1.0), 0.0),
    "osc2_pitch": (NativeRange(-12.0, 12.0, step=1.0), 0.0),
    "filter_type": (NativeRange(0.0, 4.0, step=1.0), 0.0),
    "filter_slope": (_SWITCH, 1.0),
    "freq_mod_osc": (NativeRange(0.0, 2.0, step=1.0), 0.0),
    "filter_kbd_track": (_UNIT, 1.0),
    "filter_vel_sens": (_UNIT, 1.0),
    "amp_vel_sens": (_UNIT, 1.0),
    "portamento_mode": (_UNIT, 0.0),  # unstepped in 1.13 (later versions step it)
}

_OSC_WAVES = ("sine", "square / pulse", "triangle / saw", "white noise", "noise + sample & hold")
_LFO_WAVES = ("sine", "square", "triangle", "noise", "noise + sample & hold", "saw up", "saw down")
_LFO_KEPT = (0, 1, 2, 5, 6)  # noise and S&H give a different sound on every render
_CATEGORICAL = {
    "osc1_waveform": (_OSC_WAVES, None, (1.0, 1.0, 1.0, 0.25, 0.25)),
    "osc2_waveform": (_OSC_WAVES, None, (1.0, 1.0, 1.0, 0.25, 0.25)),
    "lfo_waveform": (_LFO_WAVES, _LFO_KEPT, None),
    "filter_type": (("low pass", "high pass", "band pass", "notch", "bypass"), None, None),
    "filter_slope": (("12 dB / octave", "24 dB / octave"), None, None),
    "freq_mod_osc": (("osc 1+2", "osc 1", "osc 2"), None, None),
    "keyboard_mode": (("poly", "mono", "legato"), None, None),
}
_BINARY = ("osc2_sync",)
EXCLUDED = (
    "master_vol",
    "portamento_time",
    "portamento_mode",
    "keyboard_mode",
    "filter_kbd_track",
    "filter_vel_sens",
    "amp_vel_sens",
)
_INTERVALS = {"amp_attack": (0.0, 0.5), "amp_release": (0.0, 0.6)}


def _param(index: int, name: str) -> Param:
    rng, native_default = AMSYNTH_NATIVE[name]
    default = rng.to_normalized(native_default)
    used = name not in EXCLUDED
    count = round((rng.max - rng.min) / rng.step) + 1 if rng.step else 0
    grid = tuple(round(k / (count - 1), 3) for k in range(count)) if count else ()
    if name in _CATEGORICAL:
        labels, kept, weights = _CATEGORICAL[name]
        kept = kept or tuple(range(count))
        return Param(
            name,
            "cat",
            index,
            values=tuple(grid[k] for k in kept),
            weights=weights,
            labels=tuple(labels[k] for k in kept),
            default=default,
            used=used,
        )
    if name in _BINARY:
        return Param(name, "bin", index, default=default, used=used)
    return Param(
        name,
        "num",
        index,
        cardinality=count or -1,
        interval=_INTERVALS.get(name, (0.0, 1.0)),
        default=default,
        used=used,
    )


def amsynth_spec() -> SynthSpec:
    """The `amsynth` spec: the plug-in's 41 parameters in VST index order, 34 used."""
    params = tuple(_param(i, name) for i, name in enumerate(AMSYNTH_NATIVE))
    return SynthSpec(
        name="amsynth",
        engine="vst",
        source=AMSYNTH_VST_PATH,
        params=params,
        description="amsynth 1.13 (Debian package `amsynth`), a two-oscillator virtual analog "
        "subtractive synth hosted as a VST2 plug-in; typed like the paper's Diva/TAL-NoiseMaker.",
        notes=(
            "Excluded, held at the plug-in defaults: " + ", ".join(EXCLUDED) + ".",
            "lfo_waveform: noise and sample & hold excluded (random on every render); a preset "
            "using them snaps to the nearest kept raw value.",
            "amp_attack sampled on [0, 0.5], amp_release on [0, 0.6] to keep random presets "
            "audible in a 2 s note / 5 s render.",
            "Bank files store native units; AMSYNTH_NATIVE maps them to the plug-in's [0, 1].",
        ),
    )
