"""The `minisub` spec: the project's small Faust subtractive synth (faust/minisub.dsp), the default.

Sliders are addressed as `/Polyphonic/Voices/minisub/<name>` (DawDreamer with `num_voices >= 2`;
with one voice the prefix is only `/minisub`) and `Param.index` is their position in
`get_parameters_description()`. Every slider of minisub.dsp spans [0, 1] with step 0.001, so a
raw value is sent as is; the DSP maps it to its physical range. Categorical and discretised
sliders pick choice `round(v * (n - 1))` of their n choices; the spec's values are the matching
grid `round(k / (n - 1), 3)`.

| parameter            | kind          | DSP mapping of v in [0, 1]                        |
|----------------------|---------------|---------------------------------------------------|
| osc1_wave, osc2_wave | cat 4         | saw, square, triangle, sine                       |
| osc1_octave          | num, 5 steps  | -2 .. +2 octaves                                  |
| osc1_pulse_width     | num           | 0.05 + 0.9 v (square only)                        |
| osc2_coarse          | num, 25 steps | -12 .. +12 semitones                              |
| osc2_fine            | num           | -50 .. +50 cents                                  |
| osc2_sync, ring_mod  | bin           | osc 2 hard-synced to osc 1 / multiplied by osc 1  |
| osc_mix              | num           | (1 - v) osc1 + v osc2                             |
| sub_osc              | bin           | square one octave below osc 1, level 0.5          |
| noise_level          | num           | white noise gain v                                |
| filter_type          | cat 3         | low-, band-, high-pass (one TPT state-variable)   |
| cutoff               | num           | 30 * 600^v Hz (30 Hz .. 18 kHz)                   |
| resonance            | num           | Q = 0.5 * 40^v (0.5 .. 20)                        |
| filter_env_amount    | num           | (2v - 1) * 6 octaves                              |
| *_attack/decay, filter_release | num | 0.001 * 4000^v s (1 ms .. 4 s)                  |
| amp_release          | num           | 0.001 * 450^v s (1 ms .. 0.45 s)                  |
| *_sustain            | num           | level v                                           |
| lfo_wave             | cat 4 (of 5)  | sine, triangle, square, saw (sample & hold kept out) |
| lfo_rate             | num           | 0.1 * 200^v Hz (0.1 .. 20 Hz)                     |
| lfo_to_pitch         | num           | 12 v^2 semitones                                  |
| lfo_to_cutoff        | num           | 4 v octaves                                       |
| lfo_to_amp           | num           | tremolo depth v                                   |
| drive                | num           | gain 1 + 9 v into a tanh-like soft clipper        |
| volume (excluded)    | num           | output gain, held at 0.8                          |

Sampling intervals keep most random presets audible under the paper's render (note 60 held 2 s,
5 s rendered, RMS filter (0.01, 1)): see `minisub_spec`. The amplitude release ends within
0.45 s because DawDreamer's dynamic voices (the default, about 2x faster) stop a voice 0.5 s after
note-off whatever `release_length` says; so minisub renders the same with or without them.
"""

from __future__ import annotations

from data_gen.synths.spec import Param, SynthSpec

MINISUB_SOURCE = "minisub.dsp"
_PREFIX = "/Polyphonic/Voices/minisub"

_WAVES = ("saw", "square", "triangle", "sine")


def _grid(n: int) -> tuple[float, ...]:
    return tuple(round(k / (n - 1), 3) for k in range(n))


# (name, kind, extra Param fields); the order is the slider order of minisub.dsp ("[nn]" labels).
_PARAMS: tuple[tuple[str, str, dict], ...] = (
    ("osc1_wave", "cat", {"cardinality": 4, "labels": _WAVES}),
    ("osc1_octave", "num", {"cardinality": 5, "default": 0.5}),
    ("osc1_pulse_width", "num", {"default": 0.5}),
    ("osc2_wave", "cat", {"cardinality": 4, "labels": _WAVES}),
    ("osc2_coarse", "num", {"cardinality": 25, "default": 0.5}),
    ("osc2_fine", "num", {"default": 0.5}),
    ("osc2_sync", "bin", {}),
    ("ring_mod", "bin", {}),
    ("osc_mix", "num", {"default": 0.5}),
    ("sub_osc", "bin", {}),
    # Little noise: at full level it masks the oscillators.
    ("noise_level", "num", {"interval": (0.0, 0.6)}),
    ("filter_type", "cat", {"cardinality": 3, "labels": ("lowpass", "bandpass", "highpass")}),
    ("cutoff", "num", {"default": 0.7}),
    ("resonance", "num", {"default": 0.2}),
    ("filter_env_amount", "num", {"default": 0.5}),
    ("filter_attack", "num", {"default": 0.2}),
    ("filter_decay", "num", {"default": 0.5}),
    ("filter_sustain", "num", {"default": 0.5}),
    ("filter_release", "num", {"default": 0.5}),
    # Attack up to about 1.2 s: the note lasts 2 s of a 5 s clip.
    ("amp_attack", "num", {"default": 0.1, "interval": (0.0, 0.85)}),
    ("amp_decay", "num", {"default": 0.5}),
    ("amp_sustain", "num", {"default": 0.8}),
    ("amp_release", "num", {"default": 0.5}),
    (
        "lfo_wave",
        "cat",
        {"values": _grid(5)[:4], "labels": ("sine", "triangle", "square", "saw")},
    ),
    ("lfo_rate", "num", {"default": 0.5}),
    # Up to 3 semitones of vibrato: deeper pitch modulation sounds like noise.
    ("lfo_to_pitch", "num", {"interval": (0.0, 0.5)}),
    ("lfo_to_cutoff", "num", {}),
    ("lfo_to_amp", "num", {}),
    ("drive", "num", {}),
    ("volume", "num", {"default": 0.8, "used": False}),
)


def minisub_spec() -> SynthSpec:
    """The `minisub` spec: 29 used parameters (22 numerical, 3 binary, 4 categorical)."""
    params = tuple(
        Param(name, kind, index, f"{_PREFIX}/{name}", **fields)
        for index, (name, kind, fields) in enumerate(_PARAMS)
    )
    return SynthSpec(
        name="minisub",
        engine="faust",
        source=MINISUB_SOURCE,
        params=params,
        description="minisub: two oscillators (waveform choice, sync, ring mod), sub, noise, "
        "resonant multimode filter with ADSR, amp ADSR, LFO, drive; a polyphonic Faust "
        "instrument written for this project.",
        notes=(
            "All sliders span [0, 1]; raw values are sent unchanged and mapped in the DSP.",
            "lfo_wave category 4 (sample & hold) exists in the DSP but is never sampled, like "
            "the paper's S&H LFO waves.",
            "volume is excluded and held at 0.8; the soft clipper keeps |output| <= volume.",
        ),
    )
