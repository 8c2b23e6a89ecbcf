"""Tests of the TAL-NoiseMaker (XML) and Diva (.h2p) preset parsers, on small files written here."""

import json
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_gen.presets import diva_h2p, talnm_preset
from data_gen.presets.errors import PresetFileError, PresetWarning
from data_gen.synths.registry import get_spec

TAL = """<?xml version="1.0" encoding="UTF-8"?>
<tal curprogram="0" version="1.7">
  <programs>
    <program programname="Fat Bass" category="Bass" volume="0.5" cutoff="0.25"
             osc1waveform="0.5" lfo1destination="0.125" velocitycutoff="0.3" transpose="0.75">
      <splinePoints><point isStartPoint="1" x="0" y="0"/></splinePoints>
    </program>
    <program programname="Second" filtertype="1"/>
  </programs>
</tal>
"""

H2P = """/*@Meta
Author:
'someone'
*/

#AM=Diva
#Vers=10000
#cm=main
CcOp=50
#cm=ENV1
Atk=25
Dec=100
// Section for ugly compressed binary Data
// DON'T TOUCH THIS
$$$$12345
"""
KEY_MAP = {
    "main:CcOp": ["main:output", 0, 100],
    "ENV1:Atk": ["env1:attack", 0, 100],
    "ENV1:Dec": ["env1:decay", 0, 200],
}


def test_noisemaker_values_and_names():
    spec = get_spec("talnm")
    presets = talnm_preset.parse_noisemaker_preset(TAL, spec, "fat.noisemakerpreset")
    assert [p.name for p in presets] == ["Fat Bass", "Second"]
    assert presets[0].parameters == {
        "master_volume": 0.5,
        "filter_cutoff": 0.25,
        "osc_1_waveform": 0.5,
        "lfo_1_destination": 0.125,
        "velocity_filter": 0.3,
        "transpose": 0.75,
    }
    assert presets[1].parameters == {"filter_type": 1.0}
    assert presets[1].source == "fat.noisemakerpreset#2"
    names = {p.name for p in spec.params}
    assert set(talnm_preset.attribute_map(spec).values()) <= names


def test_noisemaker_errors():
    spec = get_spec("talnm")
    unknown = TAL.replace('filtertype="1"', 'wobble="1"')
    with pytest.raises(PresetFileError, match=r"x.xml: program 2 'Second': .*'wobble'"):
        talnm_preset.parse_noisemaker_preset(unknown, spec, "x.xml")
    with pytest.warns(PresetWarning):
        kept = talnm_preset.parse_noisemaker_preset(unknown, spec, "x.xml", lenient=True)
    assert kept[1].parameters == {}
    big = TAL.replace('cutoff="0.25"', 'cutoff="3"')
    with pytest.raises(PresetFileError, match="cutoff='3'"):
        talnm_preset.parse_noisemaker_preset(big, spec, "x.xml")
    for text in ("<tal>", "<other/>", "<tal><programs/></tal>"):
        with pytest.raises(PresetFileError):
            talnm_preset.parse_noisemaker_preset(text, spec, "x.xml")


def test_h2p_parse_and_map(tmp_path):
    values = diva_h2p.parse_h2p(H2P, "pad.h2p")
    assert values == {"main:CcOp": 50.0, "ENV1:Atk": 25.0, "ENV1:Dec": 100.0}
    (tmp_path / "map.json").write_text(json.dumps(KEY_MAP))
    (tmp_path / "pad.h2p").write_text(H2P)
    key_map = diva_h2p.load_key_map(tmp_path / "map.json")
    [preset] = diva_h2p.read_h2p(tmp_path / "pad.h2p", key_map)
    assert preset.name == "pad"
    assert preset.parameters == {"main:output": 0.5, "env1:attack": 0.25, "env1:decay": 0.5}
    names = {p.name for p in get_spec("diva").params}
    assert set(preset.parameters) <= names


def test_h2p_errors():
    with pytest.raises(PresetFileError, match="not Diva"):
        diva_h2p.parse_h2p(H2P.replace("#AM=Diva", "#AM=Zebra2"), "z.h2p")
    with pytest.raises(PresetFileError, match="z.h2p: line 11: Atk='x' is not a number"):
        diva_h2p.parse_h2p(H2P.replace("Atk=25", "Atk=x"), "z.h2p")
    with pytest.raises(PresetFileError, match="no key-map entry for 'ENV1:Dec'"):
        diva_h2p.to_preset({"ENV1:Dec": 1.0}, {}, "p", "z.h2p")
    key_map = {k: tuple(v) for k, v in KEY_MAP.items()}
    with pytest.raises(PresetFileError, match="outside"):
        diva_h2p.to_preset({"ENV1:Dec": 300.0}, key_map, "p", "z.h2p")
    with pytest.raises(PresetFileError, match="no Diva parameter"):
        diva_h2p.parse_h2p("", "empty.h2p")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.booleans())
def test_random_text_only_raises_preset_errors(text, lenient):
    spec = get_spec("talnm")
    candidates = [text, f"<tal><programs><program {text}/></programs></tal>", "#cm=X\n" + text]
    for candidate in candidates:
        for parse in (
            lambda t: talnm_preset.parse_noisemaker_preset(t, spec, "fuzz", lenient),
            lambda t: diva_h2p.parse_h2p(t, "fuzz", lenient),
        ):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", PresetWarning)
                    parse(candidate)
            except PresetFileError:
                pass
