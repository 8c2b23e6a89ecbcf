"""Tests of amsynth bank reading and writing."""

import glob
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_gen.presets import amsynth_bank as ab
from data_gen.presets import formats
from data_gen.presets.errors import PresetFileError, PresetWarning
from data_gen.synths.amsynth import AMSYNTH_NATIVE
from data_gen.synths.registry import get_spec

BANKS = sorted(glob.glob("/usr/share/amsynth/banks/*.bank"))
SMALL = """amSynth
<preset> <name> First one
<parameter> amp_attack 0.15
<parameter> osc1_waveform 3
<parameter> filter_cutoff -0.5
<parameter> osc2_range -2
<preset> <name> second
<parameter> osc2_pitch 7
EOF
"""


def test_small_bank_values():
    presets = ab.parse_amsynth_bank(SMALL, "small.bank")
    assert [p.name for p in presets] == ["First one", "second"]
    params = ab.to_parameters(presets[0])
    assert params["amp_attack"] == pytest.approx(0.15 / 2.5)
    assert params["osc1_waveform"] == pytest.approx(0.75)
    assert params["filter_cutoff"] == 0.0 and params["osc2_range"] == pytest.approx(1 / 7)
    assert ab.to_parameters(presets[1]) == {"osc2_pitch": pytest.approx(19 / 24)}


def test_write_read_round_trip():
    presets = ab.parse_amsynth_bank(SMALL)
    full = [ab.from_parameters(ab.to_parameters(p), p.name) for p in presets]
    assert len(full[1].values) == 41 and full[1].values["osc2_pitch"] == 7
    assert full[1].values["master_vol"] == AMSYNTH_NATIVE["master_vol"][1]
    text = ab.format_amsynth_bank(full)
    assert ab.parse_amsynth_bank(text) == full
    assert ab.format_amsynth_bank(ab.parse_amsynth_bank(text)) == text


@pytest.mark.skipif(not BANKS, reason="Debian amsynth banks not installed")
def test_debian_banks_parse_and_round_trip():
    total = 0
    for path in BANKS:
        presets = ab.read_amsynth_bank(path)
        total += len(presets)
        for p in presets[:8]:
            native = ab.from_parameters(p.parameters, p.name)
            again = ab.to_parameters(native)
            for k, v in p.parameters.items():
                assert again[k] == pytest.approx(v, abs=1e-9), (path, p.name, k)
    assert len(BANKS) == 28 and total == 3482


def test_vectors_to_bank():
    spec = get_spec("amsynth")
    rng = np.random.default_rng(1)
    vectors = spec.from_render_values(rng.uniform(size=(3, spec.num_used)))
    presets = formats.vectors_to_presets(spec, vectors, ["a", "b", "c"])
    text = formats.encode_presets(spec, presets).decode()
    presets = ab.parse_amsynth_bank(text)
    raw = np.array([[ab.to_parameters(p)[q.name] for q in spec.used_params] for p in presets])
    np.testing.assert_allclose(spec.from_render_values(raw), vectors, atol=1e-5)


@pytest.mark.parametrize(
    "line, message",
    [
        ("<parameter> wobble 1", "unknown parameter 'wobble'"),
        ("<parameter> amp_attack x", "not a number"),
        ("<parameter> amp_attack 9", "outside"),
        ("<parameter> amp_attack", "expected"),
    ],
)
def test_bad_lines(line, message):
    text = f"amSynth\n<preset> <name> p1\n{line}\n<preset> <name> p2\n"
    with pytest.raises(PresetFileError, match=f"bad.bank: line 3, preset 1 'p1': .*{message}"):
        ab.parse_amsynth_bank(text, "bad.bank")
    with pytest.warns(PresetWarning):
        assert [p.name for p in ab.parse_amsynth_bank(text, "bad.bank", lenient=True)] == ["p2"]
    with pytest.raises(PresetFileError, match="not an amsynth bank"):
        ab.parse_amsynth_bank("hello", "bad.bank")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400), st.booleans())
def test_random_text_only_raises_preset_errors(text, lenient):
    for candidate in (text, "amSynth\n<preset> <name> x\n" + text):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PresetWarning)
                ab.parse_amsynth_bank(candidate, "fuzz.bank", lenient=lenient)
        except PresetFileError:
            pass
