"""In-process renderers: the paper's render sequence, slider scaling, held parameters, errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dawdreamer as daw
import numpy as np
import pytest

from data_gen.render import make_renderer
from data_gen.render.rms import clip_rms
from data_gen.synths.sampling import PresetSampler
from tests.data_gen.render.conftest import TINY_DSP, TINY_PREFIX

AMSYNTH = Path("/usr/lib/vst/amsynth_vst.so")


@pytest.fixture(scope="module")
def tiny(tiny_spec, short_settings):
    return make_renderer(tiny_spec, short_settings)


def reference_render(settings, set_params) -> np.ndarray:
    """Facts 2.4 written out with DawDreamer directly, as an independent check of the renderer."""
    engine = daw.RenderEngine(settings.sample_rate, settings.block_size)
    synth = engine.make_faust_processor("ref")
    synth.num_voices = 4
    synth.set_dsp_string(TINY_DSP)
    synth.compile()
    set_params(synth)
    engine.load_graph([(synth, [])])
    synth.add_midi_note(settings.midi_note, 0, 0.0, 0.01)
    engine.render(0.01)
    synth.add_midi_note(settings.midi_note, settings.velocity, 0.01, settings.note_duration)
    engine.render(settings.render_duration)
    synth.clear_midi()
    audio = engine.get_audio().mean(axis=0)
    fade = int(settings.sample_rate * settings.fade_out)
    audio[-fade:] *= np.linspace(1, 0, fade)
    return audio


def test_render_matches_the_reference_sequence(tiny, tiny_spec, short_settings) -> None:
    preset = np.array([0.3, 2, 0.8, 1], np.float32)  # cutoff, wave (category 2), vol, bright

    def set_params(synth) -> None:
        synth.set_parameter(f"{TINY_PREFIX}/detune", 50)  # excluded, held at default 0.75
        synth.set_parameter(f"{TINY_PREFIX}/cutoff", round(50 + 0.3 * 2950))
        synth.set_parameter(f"{TINY_PREFIX}/wave", 2)
        synth.set_parameter(f"{TINY_PREFIX}/vol", 0.8)
        synth.set_parameter(f"{TINY_PREFIX}/bright", 1)

    audio = tiny.render(preset[None])[0]
    assert audio.dtype == np.float32 and audio.shape == (short_settings.num_samples,)
    np.testing.assert_allclose(audio, reference_render(short_settings, set_params), atol=1e-6)
    assert audio[-1] == 0.0 and clip_rms(audio) > 0.01


def test_sliders_get_scaled_snapped_values(tiny) -> None:
    tiny.render_one(np.array([0.12345, 1, 0.5, 0], np.float32))
    proc = tiny.processor
    assert proc.get_parameter(f"{TINY_PREFIX}/cutoff") == round(50 + 0.12345 * 2950)
    assert proc.get_parameter(f"{TINY_PREFIX}/wave") == 1.0  # category 1 of 3 -> raw 0.5 -> 1
    assert proc.get_parameter(f"{TINY_PREFIX}/vol") == pytest.approx(0.5, abs=1e-6)
    assert proc.get_parameter(f"{TINY_PREFIX}/detune") == 50.0  # excluded: default 0.75


def test_sliders_without_address_are_found_by_index(tiny, tiny_spec, short_settings) -> None:
    by_index = tuple(dataclasses.replace(p, address=None) for p in tiny_spec.params)
    renderer = make_renderer(dataclasses.replace(tiny_spec, params=by_index), short_settings)
    presets = PresetSampler(tiny_spec, seed=3).sample_batch(np.arange(2))
    np.testing.assert_array_equal(renderer.render(presets), tiny.render(presets))


def test_renders_are_repeatable_and_depend_on_the_preset(tiny, tiny_spec) -> None:
    presets = PresetSampler(tiny_spec, seed=1).sample_batch(np.arange(3))
    first = tiny.render(presets)
    again = tiny.render(presets[::-1])[::-1]
    np.testing.assert_array_equal(first, again)  # no state leaks from one render to the next
    assert not np.allclose(first[0], first[1])


def test_bad_preset_is_refused(tiny) -> None:
    with pytest.raises(ValueError, match="'wave'"):
        tiny.render(np.array([[0.5, 3, 0.5, 0]], np.float32))


def test_faust_source_that_does_not_compile_names_the_file(tiny_spec, tmp_path) -> None:
    bad = tmp_path / "broken.dsp"
    bad.write_text("process = no_such_function;\n")
    spec = dataclasses.replace(tiny_spec, source=str(bad))
    with pytest.raises(ValueError, match="broken.dsp.*does not compile.*no_such_function"):
        make_renderer(spec)


def test_missing_faust_source_names_the_path(tiny_spec) -> None:
    with pytest.raises(FileNotFoundError, match="nothing_here.dsp"):
        make_renderer(dataclasses.replace(tiny_spec, source="nothing_here.dsp"))


def test_unknown_slider_address_names_the_parameter(tiny_spec) -> None:
    params = list(tiny_spec.params)
    params[0] = dataclasses.replace(params[0], address=f"{TINY_PREFIX}/nope")
    with pytest.raises(ValueError, match="'cutoff'.*nope"):
        make_renderer(dataclasses.replace(tiny_spec, params=tuple(params)))


def test_unknown_engine(tiny_spec) -> None:
    with pytest.raises(ValueError, match="unknown engine 'csound'"):
        make_renderer(dataclasses.replace(tiny_spec, engine="csound"))


def test_missing_plugin_is_a_clear_error(tiny_spec) -> None:
    spec = dataclasses.replace(tiny_spec, engine="vst", source="/nowhere/synth.so")
    with pytest.raises(FileNotFoundError, match="/nowhere/synth.so.*not found"):
        make_renderer(spec)


def test_file_that_is_not_a_plugin_is_a_clear_error(tiny_spec, tiny_dsp_path) -> None:
    spec = dataclasses.replace(tiny_spec, engine="vst", source=str(tiny_dsp_path))
    with pytest.raises(ValueError, match="tiny.dsp.*could not be loaded"):
        make_renderer(spec)


@pytest.mark.skipif(not AMSYNTH.exists(), reason="Debian package amsynth not installed")
def test_amsynth_vst_renders(short_settings) -> None:
    from data_gen.synths.registry import get_spec

    spec = get_spec("amsynth")
    renderer = make_renderer(spec, short_settings)
    presets = PresetSampler(spec, seed=0).sample_batch(np.arange(2))
    audio = renderer.render(presets)
    assert audio.shape == (2, short_settings.num_samples) and np.all(np.isfinite(audio))
    assert not np.allclose(audio[0], audio[1])
    np.testing.assert_array_equal(renderer.render(presets[:1])[0], audio[0])  # test_fresh_state


@pytest.mark.skipif(not AMSYNTH.exists(), reason="Debian package amsynth not installed")
def test_plugin_out_of_range_index_is_refused(short_settings) -> None:
    from data_gen.synths.registry import get_spec

    spec = get_spec("amsynth")
    params = list(spec.params)
    params[0] = dataclasses.replace(params[0], index=500)
    with pytest.raises(ValueError, match=r"41 parameters.*\['" + params[0].name):
        make_renderer(dataclasses.replace(spec, params=tuple(params)), short_settings)


@pytest.mark.skipif(not AMSYNTH.exists(), reason="Debian package amsynth not installed")
def test_plugin_that_stays_silent_is_refused(short_settings) -> None:
    from data_gen.synths.registry import get_spec

    spec = get_spec("amsynth")
    params = [
        dataclasses.replace(p, default=0.0) if p.name == "master_vol" else p for p in spec.params
    ]
    with pytest.raises(ValueError, match="produced no audio.*not an instrument"):
        make_renderer(dataclasses.replace(spec, params=tuple(params)), short_settings)


@pytest.mark.slow
def test_dx7_compiles_only_the_algorithm_it_needs(short_settings) -> None:
    from data_gen.synths.registry import get_spec

    spec = get_spec("dx7")
    renderer = make_renderer(spec, short_settings)
    preset = PresetSampler(spec, seed=0).sample(0)
    preset[spec.used_position("algorithm")] = 4  # category 4 -> algorithm 5
    audio = renderer.render(preset[None])[0]
    assert renderer.compiled_algorithms == [5]
    assert np.all(np.isfinite(audio)) and audio.shape == (short_settings.num_samples,)
