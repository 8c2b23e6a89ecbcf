"""The `dx7` spec: Faust's dx7.lib (bundled with DawDreamer), described like the paper's Dexed.

Render contract (the renderer in `data_gen/render/` implements it):

- There is no single DSP for all 32 algorithms (`dx.algorithms` does not compile in 500 s here).
  The categorical parameter `algorithm` (`DX7_ALGORITHM_PARAM`, `Param.address is None`, index
  -1) is *not* a Faust slider: the renderer keeps one polyphonic processor per algorithm, compiled
  from `dx7_dsp_source(n)` (n = 1..32, about 15 s each) with `num_voices` set before `compile()`,
  and routes each preset to the processor of its algorithm (category index k -> algorithm k + 1).
- Every other parameter is a Faust slider addressed by `Param.address`, the address DawDreamer
  reports in polyphonic mode, e.g. `/Polyphonic/Voices/DX7/Operator_1/Tone/Coarse` (checked by
  compiling algorithm 1; every algorithm exposes the same 144 sliders in the same order, so
  `Param.index` is the position in `get_parameters_description()`). The `/Polyphonic/Voices`
  prefix appears only with `num_voices >= 2`: with one voice the address is `/DX7/...`.
- DawDreamer's dynamic voices (the default) stop a voice shortly after note-off, which cuts DX7
  release tails; `dynamic_voices = False` keeps them at about 4x the render cost (measured with
  2 voices). Either way is deterministic; the renderer chooses.
- Faust sliders use DX7 units, not [0, 1]: most are 0..99, feedback 0..7, coarse 0..31, detune
  (`Tune`) -7..7, transpose -24..24, LFO wave 0..5, A mod sens 0..3, mode/sync 0..1. The renderer
  maps a raw value r in [0, 1] to `min + r * (max - min)` using the slider's `min`/`max` from
  `get_parameters_description()` and rounds to the slider's `step` (1 for all of them).
  The slider spans equal the DX7 VCED ranges, so a VCED value v maps to raw `v / vced_max`
  (`DX7_VCED`), e.g. detune VCED 7 (centre) -> raw 0.5 -> Faust 0.

Choices mirror the paper's Dexed spec (reference facts 1.4): 100 used parameters (92 numerical of
which 20 discretised, 0 binary, 8 categorical); algorithm cat 32; feedback discretised 8; LFO wave
categorical without sample & hold; operator mode categorical (0.75 ratio / 0.25 fixed); coarse
discretised 32 with the paper's weights; eg_rate_4 sampled on [0.45, 1]; LFO delay on [0, 0.5];
pitch mod sensitivity 0 three times out of four. Key/velocity scaling, rate scaling, transpose
and the sync flags are excluded and held; dx7.lib has no operator on/off switch, so operators are
always on (Dexed's `switch` held at 1 in the paper).
"""

from __future__ import annotations

from data_gen.synths.spec import Param, SynthSpec

DX7_ALGORITHM_PARAM = "algorithm"
DX7_NUM_ALGORITHMS = 32
DX7_NUM_OPERATORS = 6
_PREFIX = "/Polyphonic/Voices/DX7"

# Coarse frequency weights from the paper's Dexed spec ("avoid too many high freqs").
_COARSE_WEIGHTS = (2, 4, 1) + (0.5,) * 6 + (0.3,) * 3 + (0.2,) * 3 + (0.1,) * 3 + (0.05,) * 14
# Pitch mod sensitivity 0 with p = 0.75 ("no LFO 75% of the time").
_PMS_WEIGHTS = (21,) + (1,) * 7


def dx7_dsp_source(algorithm: int) -> str:
    """Faust code for one DX7 algorithm (1..32), a mono polyphonic MIDI instrument."""
    if not 1 <= int(algorithm) <= DX7_NUM_ALGORITHMS:
        raise ValueError(f"dx7 algorithm must be in 1..{DX7_NUM_ALGORITHMS}, got {algorithm!r}")
    # `dx` is defined by stdfaust.lib (DawDreamer imports it); redefining it is an error.
    return f"process = dx.algorithm({int(algorithm)});\n"


def algorithm_of(category_index: int) -> int:
    """The DX7 algorithm number (1..32) of an `algorithm` category index (0..31)."""
    return int(category_index) + 1


# name -> (DX7 VCED byte offset, VCED max value); raw = VCED value / max. Operator n's block of
# 21 bytes starts at (6 - n) * 21 (the VCED stores operator 6 first); the offsets below are
# within that block. Global fields are absolute offsets.
#
# | param              | VCED field                    | Faust slider (address tail)  |
# |--------------------|-------------------------------|------------------------------|
# | algorithm          | 134 ALS (0-31)                | none: one processor each     |
# | feedback           | 135 FBL (0-7)                 | Global/Main/Feedback         |
# | osc_key_sync       | 136 OPI (0-1)                 | Global/Main/Osc_Key_Sync     |
# | lfo_speed          | 137 LFS (0-99)                | Global/LFO/Speed             |
# | lfo_delay          | 138 LFD (0-99)                | Global/LFO/Delay             |
# | lfo_pm_depth       | 139 LPMD (0-99)               | Global/LFO/PMD               |
# | lfo_am_depth       | 140 LAMD (0-99)               | Global/LFO/AMD               |
# | lfo_key_sync       | 141 LFKS (0-1)                | Global/LFO/Sync              |
# | lfo_wave           | 142 LFW (0-5)                 | Global/LFO/Wave              |
# | p_mode_sens        | 143 LPMS (0-7)                | Global/LFO/P_Mod_Sens        |
# | transpose          | 144 TRNP (0-48, 24 = C3)      | Global/Main/Transpose        |
# | pitch_eg_rate_k    | 126-129 PR1-PR4 (0-99)        | Global/Pitch_EG_Rates/Rk     |
# | pitch_eg_level_k   | 130-133 PL1-PL4 (0-99)        | Global/Pitch_EG_Levels/Lk    |
# | opN_eg_rate_k      | +0..+3 R1-R4 (0-99)           | Operator_N/.../Rates/Rk      |
# | opN_eg_level_k     | +4..+7 L1-L4 (0-99)           | Operator_N/.../Levels/Lk     |
# | opN_break_point    | +8 BP (0-99)                  | Operator_N/Breakpoint/...    |
# | opN_l/r_scale_depth| +9/+10 LD/RD (0-99)           | .../Breakpoint/L_/R_Depth    |
# | opN_l/r_key_scale  | +11/+12 LC/RC (0-3)           | .../Breakpoint/L_/R_Curve    |
# | opN_rate_scaling   | +13 RS (0-7)                  | Operator_N/Level/Rate_Scaling|
# | opN_a_mod_sens     | +14 AMS (0-3)                 | Operator_N/Level/A_Mod_Sens  |
# | opN_key_velocity   | +15 TS (0-7)                  | Operator_N/Level/Key_Vel     |
# | opN_output_level   | +16 TL (0-99)                 | Operator_N/Level/Level       |
# | opN_mode           | +17 PM (0 ratio, 1 fixed)     | Operator_N/Tone/Freq_Mode    |
# | opN_f_coarse       | +18 PC (0-31)                 | Operator_N/Tone/Coarse       |
# | opN_f_fine         | +19 PF (0-99)                 | Operator_N/Tone/Fine         |
# | opN_osc_detune     | +20 PD (0-14, 7 = centre)     | Operator_N/Tone/Tune (-7..7) |
_GLOBAL_VCED = {
    "algorithm": (134, 31),
    "feedback": (135, 7),
    "osc_key_sync": (136, 1),
    "lfo_speed": (137, 99),
    "lfo_delay": (138, 99),
    "lfo_pm_depth": (139, 99),
    "lfo_am_depth": (140, 99),
    "lfo_key_sync": (141, 1),
    "lfo_wave": (142, 5),
    "p_mode_sens": (143, 7),
    "transpose": (144, 48),
    **{f"pitch_eg_rate_{k}": (125 + k, 99) for k in range(1, 5)},
    **{f"pitch_eg_level_{k}": (129 + k, 99) for k in range(1, 5)},
}
_OPERATOR_VCED = {
    **{f"eg_rate_{k}": (k - 1, 99) for k in range(1, 5)},
    **{f"eg_level_{k}": (k + 3, 99) for k in range(1, 5)},
    "break_point": (8, 99),
    "l_scale_depth": (9, 99),
    "r_scale_depth": (10, 99),
    "l_key_scale": (11, 3),
    "r_key_scale": (12, 3),
    "rate_scaling": (13, 7),
    "a_mod_sens": (14, 3),
    "key_velocity": (15, 7),
    "output_level": (16, 99),
    "mode": (17, 1),
    "f_coarse": (18, 31),
    "f_fine": (19, 99),
    "osc_detune": (20, 14),
}
DX7_VCED: dict[str, tuple[int, int]] = {
    **_GLOBAL_VCED,
    **{
        f"op{n}_{field}": ((DX7_NUM_OPERATORS - n) * 21 + offset, vmax)
        for n in range(1, DX7_NUM_OPERATORS + 1)
        for field, (offset, vmax) in _OPERATOR_VCED.items()
    },
}


def _norm(value: float, vmax: int) -> float:
    """A DX7 value 0..vmax as a raw [0, 1] value, rounded like the spec's value grids."""
    return round(value / vmax, 3)


def _global_params() -> list[Param]:
    g = f"{_PREFIX}/Global"
    out = [
        Param(
            DX7_ALGORITHM_PARAM,
            "cat",
            -1,
            None,
            cardinality=32,
            labels=tuple(f"algorithm {k}" for k in range(1, 33)),
        ),
        Param("feedback", "num", 0, f"{g}/Main/Feedback", cardinality=8),
        Param(
            "transpose", "num", 1, f"{g}/Main/Transpose", cardinality=49, default=0.5, used=False
        ),
        Param("osc_key_sync", "bin", 2, f"{g}/Main/Osc_Key_Sync", default=1.0, used=False),
    ]
    out += [
        Param(
            f"pitch_eg_level_{k}", "num", 2 + k, f"{g}/Pitch_EG_Levels/L{k}", default=_norm(50, 99)
        )
        for k in range(1, 5)
    ]
    out += [
        Param(f"pitch_eg_rate_{k}", "num", 6 + k, f"{g}/Pitch_EG_Rates/R{k}", default=1.0)
        for k in range(1, 5)
    ]
    lfo = f"{g}/LFO"
    waves = ("triangle", "saw down", "saw up", "square", "sine")  # sample & hold (5) excluded
    out += [
        Param(
            "lfo_wave",
            "cat",
            11,
            f"{lfo}/Wave",
            values=tuple(_norm(k, 5) for k in range(5)),
            labels=waves,
        ),
        Param("lfo_speed", "num", 12, f"{lfo}/Speed", default=_norm(35, 99)),
        Param("lfo_delay", "num", 13, f"{lfo}/Delay", interval=(0.0, 0.5)),
        Param("lfo_pm_depth", "num", 14, f"{lfo}/PMD"),
        Param("lfo_am_depth", "num", 15, f"{lfo}/AMD"),
        Param("lfo_key_sync", "bin", 16, f"{lfo}/Sync", default=1.0, used=False),
        Param(
            "p_mode_sens",
            "num",
            17,
            f"{lfo}/P_Mod_Sens",
            cardinality=8,
            weights=_PMS_WEIGHTS,
            default=_norm(3, 7),
        ),
    ]
    return out


def _operator_params(n: int) -> list[Param]:
    """The 21 sliders of operator n (1..6), in DawDreamer's order."""
    base = 18 + 21 * (n - 1)
    op = f"{_PREFIX}/Operator_{n}"
    env = f"{op}/Amp_Env_Generator"
    p = f"op{n}_"
    out = [
        Param(f"{p}osc_detune", "num", base, f"{op}/Tone/Tune", cardinality=15, default=0.5),
        Param(
            f"{p}f_coarse",
            "num",
            base + 1,
            f"{op}/Tone/Coarse",
            cardinality=32,
            weights=_COARSE_WEIGHTS,
            default=_norm(1, 31),
        ),
        Param(f"{p}f_fine", "num", base + 2, f"{op}/Tone/Fine"),
        Param(
            f"{p}mode",
            "cat",
            base + 3,
            f"{op}/Tone/Freq_Mode",
            values=(0.0, 1.0),
            weights=(0.75, 0.25),
            labels=("ratio", "fixed"),
        ),
    ]
    out += [
        Param(
            f"{p}eg_level_{k}",
            "num",
            base + 3 + k,
            f"{env}/Levels/L{k}",
            default=1.0 if k < 4 else 0.0,
        )
        for k in range(1, 5)
    ]
    out += [
        Param(
            f"{p}eg_rate_{k}",
            "num",
            base + 7 + k,
            f"{env}/Rates/R{k}",
            default=1.0,
            interval=(0.45, 1.0) if k == 4 else (0.0, 1.0),
        )
        for k in range(1, 5)
    ]
    lvl = f"{op}/Level"
    bp = f"{op}/Breakpoint"
    curves = ("-lin", "-exp", "+exp", "+lin")
    out += [
        Param(f"{p}output_level", "num", base + 12, f"{lvl}/Level", default=1.0 if n == 1 else 0.0),
        Param(f"{p}key_velocity", "num", base + 13, f"{lvl}/Key_Vel", cardinality=8, used=False),
        Param(f"{p}a_mod_sens", "num", base + 14, f"{lvl}/A_Mod_Sens", cardinality=4),
        Param(
            f"{p}rate_scaling", "num", base + 15, f"{lvl}/Rate_Scaling", cardinality=8, used=False
        ),
        # Breakpoint is inert while both depths are 0; 39 (C3) is the DX7 init-voice value.
        Param(
            f"{p}break_point",
            "num",
            base + 16,
            f"{bp}/Breakpoint",
            default=_norm(39, 99),
            used=False,
        ),
        Param(f"{p}l_scale_depth", "num", base + 17, f"{bp}/L_Depth", used=False),
        Param(f"{p}r_scale_depth", "num", base + 18, f"{bp}/R_Depth", used=False),
        Param(
            f"{p}l_key_scale",
            "cat",
            base + 19,
            f"{bp}/L_Curve",
            cardinality=4,
            labels=curves,
            used=False,
        ),
        Param(
            f"{p}r_key_scale",
            "cat",
            base + 20,
            f"{bp}/R_Curve",
            cardinality=4,
            labels=curves,
            used=False,
        ),
    ]
    return out


def dx7_spec() -> SynthSpec:
    """The `dx7` spec: algorithm first, then the 144 Faust sliders in DawDreamer's order."""
    params = _global_params()
    for n in range(1, DX7_NUM_OPERATORS + 1):
        params += _operator_params(n)
    return SynthSpec(
        name="dx7",
        engine="faust_dx7",
        source="dx7.lib",
        params=tuple(params),
        routing_param=DX7_ALGORITHM_PARAM,
        description="Yamaha DX7 emulation from Faust's dx7.lib v2 (bundled in the DawDreamer "
        "wheel), one compiled polyphonic processor per algorithm; parameters typed like the "
        "paper's Dexed.",
        notes=(
            "algorithm is not a Faust slider (address None, index -1): the renderer compiles "
            "dx7_dsp_source(k + 1) for category k and routes presets by algorithm.",
            "Faust sliders are in DX7 units; raw r in [0, 1] -> min + r * (max - min), rounded "
            "to the slider step.",
            "Excluded like the paper's Dexed: transpose (0), osc/LFO key sync (on), per-operator "
            "break point, scale depths and curves, rate scaling, key velocity (all 0). "
            "dx7.lib has no operator switch: operators are always on.",
        ),
    )
