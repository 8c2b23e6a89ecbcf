"""minisub: the spec against the compiled DSP, render speed and audible random presets."""

import time
from pathlib import Path

import numpy as np
import pytest

from data_gen.synths import minisub
from data_gen.synths.registry import get_spec
from data_gen.synths.sampling import PresetSampler

daw = pytest.importorskip("dawdreamer")
DSP = Path(minisub.__file__).parent / "faust" / minisub.MINISUB_SOURCE
SAMPLE_RATE, BLOCK = 32000, 128


class BareRenderer:
    """The paper's note (60, velocity 100, held 2 s, 5 s rendered) in a bare DawDreamer loop."""

    def __init__(self, dynamic_voices: bool = True) -> None:
        self.engine = daw.RenderEngine(SAMPLE_RATE, BLOCK)
        self.proc = self.engine.make_faust_processor("minisub")
        self.proc.num_voices = 4  # before compile(), or no voice ever plays
        self.proc.dynamic_voices = dynamic_voices
        self.proc.set_dsp(str(DSP))
        start = time.perf_counter()
        assert self.proc.compile()
        self.compile_seconds = time.perf_counter() - start
        self.description = self.proc.get_parameters_description()
        self.engine.load_graph([(self.proc, [])])
        self.spec = get_spec("minisub")
        by_address = {d["name"]: d["index"] for d in self.description}
        for p in self.spec.excluded_params:
            self.proc.set_parameter(by_address[p.address], p.default)
        self.slots = [by_address[p.address] for p in self.spec.used_params]

    def render(self, preset_P: np.ndarray) -> np.ndarray:
        raw_P = self.spec.to_render_values(preset_P[None])[0]
        for slot, value in zip(self.slots, raw_P, strict=True):
            self.proc.set_parameter(slot, float(value))  # sliders span [0, 1]: raw as is
        self.proc.clear_midi()
        self.proc.add_midi_note(60, 100, 0.0, 2.0)
        self.engine.render(5.0)
        return self.engine.get_audio().mean(0)


@pytest.fixture(scope="module")
def renderer() -> BareRenderer:
    return BareRenderer()


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def test_spec_has_all_kinds():
    spec = get_spec("minisub")
    counts = spec.counts()
    assert 20 <= counts["used"] <= 40
    assert counts["num_discrete"] >= 2 and counts["bin"] >= 2 and counts["cat"] >= 3
    assert spec.engine == "faust" and spec.source == "minisub.dsp"


def test_addresses_ranges_and_defaults_match_the_dsp(renderer):
    assert renderer.compile_seconds < 5.0
    spec = renderer.spec
    described = renderer.description
    assert [d["name"] for d in described] == [p.address for p in spec.params]
    for param, desc in zip(spec.params, described, strict=True):
        assert desc["index"] == param.index
        assert (desc["min"], desc["max"]) == (0.0, 1.0), param.name
        assert desc["value"] == pytest.approx(param.default, abs=1e-6), param.name


def test_random_presets_are_audible_distinct_and_deterministic(renderer):
    spec = renderer.spec
    presets = PresetSampler(spec, seed=0).sample_batch(np.arange(40))
    audio = np.stack([renderer.render(p) for p in presets])
    assert audio.shape == (40, 5 * SAMPLE_RATE) and np.isfinite(audio).all()
    rms = np.array([_rms(a) for a in audio])
    assert np.mean((rms > 0.01) & (rms < 1.0)) >= 0.9  # measured: about 2 % rejected
    assert np.abs(audio).max() <= spec.param("volume").default + 1e-6  # the soft clipper
    assert len(np.unique(rms.round(6))) == len(rms)
    np.testing.assert_array_equal(renderer.render(presets[3]), audio[3])


def test_release_ends_before_the_host_cuts_the_voice(renderer):
    # Dynamic voices stop 0.5 s after note-off; minisub must sound the same without them.
    spec = renderer.spec
    preset = PresetSampler(spec, seed=2).sample(0)
    preset[spec.used_position("amp_release")] = 1.0
    preset[spec.used_position("amp_sustain")] = 1.0
    cut = renderer.render(preset)
    full = BareRenderer(dynamic_voices=False).render(preset)
    assert _rms(full[int(1.9 * SAMPLE_RATE) : 2 * SAMPLE_RATE]) > 0.01
    np.testing.assert_allclose(cut, full, atol=1e-6)


@pytest.mark.parametrize("name", ["osc1_wave", "filter_type", "lfo_wave", "sub_osc", "osc2_coarse"])
def test_each_discrete_choice_changes_the_sound(renderer, name):
    spec = renderer.spec
    base = PresetSampler(spec, seed=1).sample(0)
    base[spec.used_position("lfo_to_pitch")] = 0.3  # audible LFO so lfo_wave matters
    pos = spec.used_position(name)
    param = spec.param(name)
    choices = range(param.cardinality) if param.kind == "cat" else param.values
    clips = []
    for choice in choices:
        preset = base.copy()
        preset[pos] = choice
        clips.append(renderer.render(preset))
    for a, b in zip(clips, clips[1:], strict=False):
        assert not np.allclose(a, b, atol=1e-4), name


@pytest.mark.slow
def test_rejection_rate_and_speed(renderer):
    spec = renderer.spec
    presets = PresetSampler(spec, seed=0).sample_batch(np.arange(1000))
    start = time.process_time()
    rms = np.array([_rms(renderer.render(p)) for p in presets])
    per_second = len(presets) / (time.process_time() - start)
    rejected = float(np.mean((rms <= 0.01) | (rms >= 1.0)))
    print(f"minisub: {per_second:.1f} renders/s (CPU time), {rejected:.1%} rejected")
    assert rejected < 0.2
    assert per_second > 50  # about 100/s on one core of the 2-core dev machine
