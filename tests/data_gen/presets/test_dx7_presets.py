"""Tests of DX7 voices <-> dx7/dexed spec values and vectors."""

import glob

import numpy as np
import pytest

from data_gen.presets import dx7_presets as dp
from data_gen.presets import dx7_sysex as sx
from data_gen.synths.dx7 import DX7_VCED
from data_gen.synths.registry import get_spec

HEXTER = sorted(glob.glob("/usr/share/hexter/*.dx7"))


def _voices() -> list[sx.Dx7Voice]:
    if HEXTER:
        return sx.read_dx7_file(HEXTER[0])
    return [sx.init_voice()]


def test_names_exist_in_specs():
    for synth in dp.DX7_SYNTHS:
        names = {p.name for p in get_spec(synth).params}
        assert set(dp.synth_names(synth).values()) <= names, synth
    assert dp.synth_names("dexed")["op3_a_mod_sens"] == "op3_a_mod_sens."
    with pytest.raises(ValueError, match="amsynth"):
        dp.synth_names("amsynth")


@pytest.mark.parametrize("synth", dp.DX7_SYNTHS)
def test_parameters_round_trip_every_field(synth):
    for voice in _voices():
        params = dp.voice_to_parameters(voice, synth)
        assert all(0.0 <= v <= 1.0 for v in params.values())
        assert dp.parameters_to_voice(params, voice.name, synth) == voice


def test_spec_template_is_init_voice():
    # The dx7 spec's held defaults are the DX7's INIT VOICE values.
    assert dp.spec_template(get_spec("dx7")).fields == sx.init_voice().fields


def test_vector_round_trip_changes_only_clipped_or_snapped_fields():
    spec = get_spec("dx7")
    for voice in _voices():
        params = dp.voice_to_parameters(voice)
        raw = np.array([[params[p.name] for p in spec.used_params]])
        vector = spec.from_render_values(raw)[0]
        back = dp.vector_to_voice(spec, vector, voice.name, template=voice)
        for name, (offset, vmax) in DX7_VCED.items():
            before, after = voice.fields[offset], back.fields[offset]
            if before == after:
                continue
            p = spec.param(name)
            lo, hi = p.interval
            clipped = not lo <= before / vmax <= hi
            snapped_away = p.kind == "cat" and round(before / vmax, 3) not in p.values
            assert clipped or snapped_away, (voice.name, name, before, after)


def test_vector_to_voice_without_template_holds_excluded_defaults():
    spec = get_spec("dx7")
    rng = np.random.default_rng(0)
    vector = spec.from_render_values(rng.uniform(size=(1, spec.num_used)))[0]
    voice = dp.vector_to_voice(spec, vector, "PREDICTED")
    assert voice.name == "PREDICTED" and voice.out_of_range() == []
    assert voice.value("transpose") == 24 and voice.value("osc_key_sync") == 1
    assert sx.parse_dx7_bytes(sx.encode_single_voice(voice)) == [voice]
    again = dp.voice_to_parameters(voice)
    vector2 = spec.from_render_values(np.array([[again[p.name] for p in spec.used_params]]))[0]
    np.testing.assert_allclose(vector2, vector, atol=0.5 / 99 + 1e-6)
