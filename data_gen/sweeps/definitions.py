"""The 13 sound attributes of the ranking study, mapped onto each synth's parameters.

The paper (section 4.1; reference facts 3.4) sweeps one TAL-NoiseMaker parameter per attribute
monotonically in 20 steps (`np.linspace` over an interval) from 10 starting presets, with a few
other parameters fixed ("extras", e.g. the other LFO routings set to zero). Here each synth gets
its own mapping. A `Sweep` moves one or more parameters *together* (the DX7's envelope rates are
per operator, so an "amp attack" moves all six) and all values are raw [0, 1] renderer values,
the same units as `SynthSpec.to_render_values` (a categorical choice is its raw value, e.g.
amsynth's low-pass filter type 0.0). An interval may run downwards when the parameter's value
falls as the attribute grows (DX7 rates: a lower rate is a longer attack). Bipolar parameters
stay on one side of their midpoint, as in the paper.

What a synth cannot express is listed in `lacks` with the reason; those attributes are skipped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

ATTRIBUTES = (
    "amp_attack",
    "amp_decay",
    "filter_cutoff",
    "filter_decay",
    "filter_resonance",
    "lfo_amount_on_amp",
    "lfo_amount_on_filter",
    "lfo_amount_on_pitch",
    "lfo_rate_on_amp",
    "lfo_rate_on_filter",
    "lfo_rate_on_pitch",
    "pitch_coarse",
    "reverb_wet",
)


@dataclasses.dataclass(frozen=True)
class Sweep:
    """One attribute on one synth: parameters moved together over `interval`, others fixed."""

    params: tuple[str, ...]
    interval: tuple[float, float]  # raw start and end values (end < start runs downwards)
    extras: Mapping[str, float] = dataclasses.field(default_factory=dict)
    note: str = ""  # the sweep in the synth's own units, for readers of the results

    def __post_init__(self) -> None:
        lo, hi = sorted(self.interval)
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(
                f"sweep of {self.params}: interval must lie in [0, 1], got {self.interval}"
            )
        clash = set(self.params) & set(self.extras)
        if clash:
            raise ValueError(f"sweep of {self.params}: {sorted(clash)} both swept and fixed")
        bad = {k: v for k, v in self.extras.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"sweep of {self.params}: extras outside [0, 1]: {bad}")

    def names(self) -> set[str]:
        """Every parameter this sweep sets."""
        return set(self.params) | set(self.extras)


@dataclasses.dataclass(frozen=True)
class SynthSweeps:
    """A synth's attribute mapping and where its starting presets come from.

    `preset_files` are glob patterns of hand-crafted preset files (read with
    `data_gen.presets.formats`); empty means random presets that pass the RMS filter.
    """

    synth: str
    sweeps: Mapping[str, Sweep]
    lacks: Mapping[str, str]
    preset_files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        covered = set(self.sweeps) | set(self.lacks)
        if covered != set(ATTRIBUTES) or set(self.sweeps) & set(self.lacks):
            raise ValueError(
                f"{self.synth}: every attribute must be swept or listed as lacking, exactly once "
                f"(missing {sorted(set(ATTRIBUTES) - covered)}, "
                f"both {sorted(set(self.sweeps) & set(self.lacks))})"
            )

    @property
    def attributes(self) -> list[str]:
        """Swept attributes, in the paper's order."""
        return [a for a in ATTRIBUTES if a in self.sweeps]

    def names(self) -> set[str]:
        return set().union(*(s.names() for s in self.sweeps.values()))


def _all_ops(field: str) -> tuple[str, ...]:
    """The same DX7 field of all six operators."""
    return tuple(f"op{n}_{field}" for n in range(1, 7))


def _all_ops_at(field: str, value: float) -> dict[str, float]:
    return dict.fromkeys(_all_ops(field), value)


# ---- minisub: random presets; one LFO routed to pitch, cutoff and amplitude ------------------
_MS_LFO_OFF = {"lfo_to_pitch": 0.0, "lfo_to_cutoff": 0.0, "lfo_to_amp": 0.0}
_MS_LOWPASS = {"filter_type": 0.0, "filter_env_amount": 0.5}  # env amount 0.5 = 0 octaves


def _ms_lfo(route: str, **fixed: float) -> dict[str, float]:
    return {**{k: v for k, v in _MS_LFO_OFF.items() if k != route}, **fixed}


MINISUB = SynthSweeps(
    synth="minisub",
    sweeps={
        "amp_attack": Sweep(("amp_attack",), (0.3, 0.9), note="12 ms .. 1.8 s"),
        "amp_decay": Sweep(
            ("amp_decay",),
            (0.4, 0.95),
            {"amp_sustain": 0.0, "amp_attack": 0.0},
            note="28 ms .. 2.6 s, sustain 0",
        ),
        "filter_cutoff": Sweep(
            ("cutoff",), (0.2, 0.8), {**_MS_LOWPASS, "lfo_to_cutoff": 0.0}, note="108 Hz .. 5.3 kHz"
        ),
        "filter_decay": Sweep(
            ("filter_decay",),
            (0.3, 0.9),
            {
                "filter_type": 0.0,
                "filter_env_amount": 1.0,
                "filter_attack": 0.0,
                "filter_sustain": 0.0,
                "cutoff": 0.3,
                "lfo_to_cutoff": 0.0,
            },
            note="12 ms .. 1.8 s, +6 octaves from 204 Hz, sustain 0",
        ),
        "filter_resonance": Sweep(
            ("resonance",), (0.1, 1.0), {**_MS_LOWPASS, "cutoff": 0.5}, note="Q 0.7 .. 20 at 735 Hz"
        ),
        "lfo_amount_on_amp": Sweep(
            ("lfo_to_amp",),
            (0.0, 1.0),
            _ms_lfo("lfo_to_amp", lfo_rate=0.6),
            note="depth 0 .. 1 at 2.4 Hz",
        ),
        "lfo_amount_on_filter": Sweep(
            ("lfo_to_cutoff",),
            (0.0, 1.0),
            _ms_lfo("lfo_to_cutoff", lfo_rate=0.6, cutoff=0.45, **_MS_LOWPASS),
            note="0 .. 4 octaves at 2.4 Hz",
        ),
        "lfo_amount_on_pitch": Sweep(
            ("lfo_to_pitch",),
            (0.0, 0.5),
            _ms_lfo("lfo_to_pitch", lfo_rate=0.6),
            note="0 .. 3 semitones at 2.4 Hz",
        ),
        "lfo_rate_on_amp": Sweep(
            ("lfo_rate",),
            (0.2, 0.8),
            _ms_lfo("lfo_to_amp", lfo_to_amp=0.8),
            note="0.29 .. 6.9 Hz, depth 0.8",
        ),
        "lfo_rate_on_filter": Sweep(
            ("lfo_rate",),
            (0.2, 0.8),
            _ms_lfo("lfo_to_cutoff", lfo_to_cutoff=0.6, cutoff=0.45, **_MS_LOWPASS),
            note="0.29 .. 6.9 Hz, 2.4 octaves",
        ),
        "lfo_rate_on_pitch": Sweep(
            ("lfo_rate",),
            (0.2, 0.8),
            _ms_lfo("lfo_to_pitch", lfo_to_pitch=0.35),
            note="0.29 .. 6.9 Hz, 1.5 semitones",
        ),
        # No global tuning: osc 2 alone (mix 1, no sync / ring / sub) swept -12 .. +12 semitones.
        "pitch_coarse": Sweep(
            ("osc2_coarse",),
            (0.0, 1.0),
            {"osc_mix": 1.0, "osc2_sync": 0.0, "ring_mod": 0.0, "sub_osc": 0.0},
            note="osc 2 alone, -12 .. +12 semitones",
        ),
    },
    lacks={"reverb_wet": "minisub has no reverb (its only effect is the drive)"},
)

# ---- amsynth: factory banks; one LFO routed to pitch, filter and amplitude -------------------
# Raw values are the plug-in's normalized ones (data_gen.synths.amsynth.AMSYNTH_NATIVE): envelope
# times 0.0005 + (2.5 r)^3 s, LFO 56.25 r^2 Hz, mod amounts r = depth, filter type 0.0 = low pass.
_AM_LFO_OFF = {"freq_mod_amount": 0.0, "filter_mod_amount": 0.0, "amp_mod_amount": 0.0}
_AM_LOWPASS = {"filter_type": 0.0, "filter_env_amount": 0.5}  # env amount 0.5 = native 0


def _am_lfo(route: str, **fixed: float) -> dict[str, float]:
    return {**{k: v for k, v in _AM_LFO_OFF.items() if k != route}, **fixed}


AMSYNTH = SynthSweeps(
    synth="amsynth",
    sweeps={
        "amp_attack": Sweep(("amp_attack",), (0.05, 0.5), note="2 ms .. 1.95 s"),
        "amp_decay": Sweep(
            ("amp_decay",),
            (0.1, 0.5),
            {"amp_sustain": 0.0, "amp_attack": 0.0},
            note="16 ms .. 1.95 s, sustain 0",
        ),
        "filter_cutoff": Sweep(
            ("filter_cutoff",),
            (0.2, 0.8),
            {**_AM_LOWPASS, "filter_mod_amount": 0.0},
            note="0.76 .. 21 x the key frequency",
        ),
        "filter_decay": Sweep(
            ("filter_decay",),
            (0.1, 0.5),
            {
                "filter_type": 0.0,
                "filter_env_amount": 1.0,
                "filter_attack": 0.0,
                "filter_sustain": 0.0,
                "filter_cutoff": 0.25,
                "filter_mod_amount": 0.0,
            },
            note="16 ms .. 1.95 s, full envelope amount, sustain 0",
        ),
        "filter_resonance": Sweep(
            ("filter_resonance",),
            (0.0, 1.0),
            {**_AM_LOWPASS, "filter_cutoff": 0.5},
            note="0 .. 0.97 at 4 x the key frequency",
        ),
        "lfo_amount_on_amp": Sweep(
            ("amp_mod_amount",),
            (0.0, 1.0),
            _am_lfo("amp_mod_amount", lfo_freq=0.2),
            note="depth 0 .. 1 at 2.25 Hz",
        ),
        "lfo_amount_on_filter": Sweep(
            ("filter_mod_amount",),
            (0.0, 1.0),
            _am_lfo("filter_mod_amount", lfo_freq=0.2, filter_cutoff=0.35, **_AM_LOWPASS),
            note="depth 0 .. 1 at 2.25 Hz",
        ),
        "lfo_amount_on_pitch": Sweep(
            ("freq_mod_amount",),
            (0.0, 0.6),
            _am_lfo("freq_mod_amount", lfo_freq=0.2, freq_mod_osc=0.0),
            note="both oscillators, at 2.25 Hz",
        ),
        "lfo_rate_on_amp": Sweep(
            ("lfo_freq",),
            (0.05, 0.35),
            _am_lfo("amp_mod_amount", amp_mod_amount=0.8),
            note="0.14 .. 6.9 Hz, depth 0.8",
        ),
        "lfo_rate_on_filter": Sweep(
            ("lfo_freq",),
            (0.05, 0.35),
            _am_lfo("filter_mod_amount", filter_mod_amount=0.7, filter_cutoff=0.35, **_AM_LOWPASS),
            note="0.14 .. 6.9 Hz, depth 0.7",
        ),
        "lfo_rate_on_pitch": Sweep(
            ("lfo_freq",),
            (0.05, 0.35),
            _am_lfo("freq_mod_amount", freq_mod_amount=0.45, freq_mod_osc=0.0),
            note="0.14 .. 6.9 Hz",
        ),
        # No global tuning: osc 2 alone (mix fully to osc 2, no sync / ring) over its semitones.
        "pitch_coarse": Sweep(
            ("osc2_pitch",),
            (0.0, 1.0),
            {"osc_mix": 1.0, "osc_mix_mode": 0.0, "osc2_sync": 0.0},
            note="osc 2 alone, -12 .. +12 semitones",
        ),
        "reverb_wet": Sweep(
            ("reverb_wet",), (0.0, 1.0), {"reverb_roomsize": 0.6}, note="wet 0 .. 1, room 0.6"
        ),
    },
    lacks={},
    preset_files=("/usr/share/amsynth/banks/*.bank",),
)

# ---- dx7: hexter's ROM voices; no filter, no effects ------------------------------------------
_DX_LFO = {"lfo_delay": 0.0}
_DX_AMP_LFO = {**_DX_LFO, "lfo_pm_depth": 0.0, **_all_ops_at("a_mod_sens", 1.0)}
_DX_PITCH_LFO = {**_DX_LFO, "lfo_am_depth": 0.0, "p_mode_sens": 5 / 7}

DX7 = SynthSweeps(
    synth="dx7",
    sweeps={
        # DX7 envelope rates: 99 is instant, lower is slower; all operators move together.
        "amp_attack": Sweep(
            _all_ops("eg_rate_1"), (0.75, 0.25), note="rate 1 of every operator, 74 .. 25"
        ),
        "amp_decay": Sweep(
            _all_ops("eg_rate_2"),
            (0.75, 0.25),
            {**_all_ops_at("eg_level_2", 0.0), **_all_ops_at("eg_level_3", 0.0)},
            note="rate 2 of every operator, 74 .. 25, levels 2 and 3 at 0",
        ),
        "lfo_amount_on_amp": Sweep(
            ("lfo_am_depth",),
            (0.0, 1.0),
            {**_DX_AMP_LFO, "lfo_speed": 0.3},
            note="AMD 0 .. 99, every AMS 3",
        ),
        "lfo_amount_on_pitch": Sweep(
            ("lfo_pm_depth",),
            (0.0, 0.9),
            {**_DX_PITCH_LFO, "lfo_speed": 0.3},
            note="PMD 0 .. 89, PMS 5",
        ),
        "lfo_rate_on_amp": Sweep(
            ("lfo_speed",),
            (0.1, 0.6),
            {**_DX_AMP_LFO, "lfo_am_depth": 0.8},
            note="speed 10 .. 59, AMD 79",
        ),
        "lfo_rate_on_pitch": Sweep(
            ("lfo_speed",),
            (0.1, 0.6),
            {**_DX_PITCH_LFO, "lfo_pm_depth": 0.6},
            note="speed 10 .. 59, PMD 59",
        ),
        "pitch_coarse": Sweep(("transpose",), (0.0, 1.0), note="transpose -24 .. +24 semitones"),
    },
    lacks={
        "filter_cutoff": "the DX7 has no filter",
        "filter_decay": "the DX7 has no filter",
        "filter_resonance": "the DX7 has no filter",
        "lfo_amount_on_filter": "the DX7 has no filter",
        "lfo_rate_on_filter": "the DX7 has no filter",
        "reverb_wet": "the DX7 has no effects",
    },
    preset_files=("/usr/share/hexter/*.dx7",),
)

SYNTH_SWEEPS: dict[str, SynthSweeps] = {s.synth: s for s in (MINISUB, AMSYNTH, DX7)}


def get_sweeps(synth: str) -> SynthSweeps:
    """The attribute mapping of a synth that has one."""
    if synth not in SYNTH_SWEEPS:
        raise ValueError(
            f"no attribute sweeps for synth {synth!r}; defined for {sorted(SYNTH_SWEEPS)}"
        )
    return SYNTH_SWEEPS[synth]
