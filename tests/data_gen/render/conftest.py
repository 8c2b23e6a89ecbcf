"""A tiny stereo Faust instrument and its spec: render tests compile in a fraction of a second."""

from __future__ import annotations

import pytest

from data_gen.render import RenderSettings
from data_gen.synths.spec import Param, SynthSpec

TINY_DSP = """
declare name "tiny";
freq = hslider("freq", 440, 20, 20000, 0.01);
gain = hslider("gain", 0.5, 0, 1, 0.01);
gate = button("gate");
cutoff = hslider("cutoff", 1000, 50, 3000, 1);  // x2 when bright: below Nyquist at 16 kHz
wave = nentry("wave", 0, 0, 2, 1);
vol = hslider("vol", 0.5, 0, 1, 0.001);
bright = checkbox("bright");
detune = hslider("detune", 0, -100, 100, 1);
f = freq * (1 + detune / 1000);
osc = select3(int(wave), os.sawtooth(f), os.square(f), os.osc(f));
env = en.adsr(0.01, 0.2, 0.6, 0.3, gate) * gain * vol;
voice = osc : fi.resonlp(cutoff * (1 + bright), 2, 1) : *(env);
process = voice <: *(1.0), *(0.5);
"""
TINY_PREFIX = "/Polyphonic/Voices/tiny"


def tiny_params() -> tuple[Param, ...]:
    """Indices are positions in DawDreamer's (alphabetical) slider list; addresses win anyway."""
    return (
        Param("cutoff", "num", 1, f"{TINY_PREFIX}/cutoff"),
        Param("wave", "cat", 4, f"{TINY_PREFIX}/wave", cardinality=3),
        Param("vol", "num", 3, f"{TINY_PREFIX}/vol"),
        Param("bright", "bin", 0, f"{TINY_PREFIX}/bright"),
        Param("detune", "num", 2, f"{TINY_PREFIX}/detune", default=0.75, used=False),
    )


@pytest.fixture(scope="session")
def tiny_dsp_path(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("faust") / "tiny.dsp"
    path.write_text(TINY_DSP)
    return path


@pytest.fixture(scope="session")
def tiny_spec(tiny_dsp_path) -> SynthSpec:
    return SynthSpec(name="tiny", engine="faust", source=str(tiny_dsp_path), params=tiny_params())


@pytest.fixture(scope="session")
def short_settings() -> RenderSettings:
    """A shorter clip than the paper's, to keep tests fast; the sequence is the same."""
    return RenderSettings(sample_rate=16000, note_duration=0.3, render_duration=0.6, fade_out=0.05)
