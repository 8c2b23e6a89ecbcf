"""Dx7Renderer: per-algorithm processors keep rendering after the engine has rendered others.

DawDreamer 0.9.0 fails `make_faust_processor` ("undefined symbol : process") on an engine whose
graph has been loaded and rendered twice, and every later render on that engine fails too. With
one algorithm per engine, a third algorithm compiled after two others have rendered must work.
"""

from __future__ import annotations

import numpy as np
import pytest

from data_gen.render import faust_dx7
from data_gen.render.faust_dx7 import Dx7Renderer
from data_gen.synths.dx7 import DX7_ALGORITHM_PARAM, DX7_NUM_ALGORITHMS, algorithm_of
from data_gen.synths.sampling import PresetSampler
from data_gen.synths.spec import Param, SynthSpec
from tests.data_gen.render.conftest import TINY_DSP, tiny_params

# Categories A, B, C, A, B: the third algorithm is made after two have rendered (where the
# shared-engine renderer failed), then the first two come back.
CATEGORY_ORDER = (4, 0, 9, 4, 0)


def tiny_dsp_source(algorithm: int) -> str:
    """A stand-in for `dx7_dsp_source`: the tiny instrument, pitched by the algorithm number."""
    return TINY_DSP.replace("f = freq *", f"f = freq * {int(algorithm)} *")


def render_in_order(renderer: Dx7Renderer, presets_NxP: np.ndarray) -> tuple[np.ndarray, list]:
    """Renders each preset with its own call (one algorithm switch per call); logs compiles."""
    compiles: list[tuple[str, bool]] = []
    renderer.on_compile = lambda what, done: compiles.append((what, done))
    return np.stack([renderer.render(p[None])[0] for p in presets_NxP]), compiles


def check_alternating_renders(renderer: Dx7Renderer, presets_NxP: np.ndarray) -> None:
    audio_NxS, compiles = render_in_order(renderer, presets_NxP)
    assert np.all(np.isfinite(audio_NxS))
    assert np.all(np.abs(audio_NxS).max(axis=1) > 0), "an algorithm rendered silence"
    np.testing.assert_array_equal(audio_NxS[3], audio_NxS[0])  # A again, on its own engine
    np.testing.assert_array_equal(audio_NxS[4], audio_NxS[1])  # B again
    assert not np.array_equal(audio_NxS[0], audio_NxS[1])
    # Three compiles, none repeated: a kept algorithm is never compiled again.
    algorithms = sorted({algorithm_of(c) for c in CATEGORY_ORDER})
    assert renderer.compiled_algorithms == algorithms
    assert compiles == [
        (f"dx7 algorithm {algorithm_of(c)}", done)
        for c in CATEGORY_ORDER[:3]
        for done in (False, True)
    ]


@pytest.fixture
def tiny_dx7_spec(tiny_dsp_path) -> SynthSpec:
    """The dx7 layout (an `algorithm` category, everything else sliders) on the tiny DSP."""
    algorithm = Param(DX7_ALGORITHM_PARAM, "cat", -1, None, cardinality=DX7_NUM_ALGORITHMS)
    return SynthSpec("tiny_dx7", "faust_dx7", "", (algorithm, *tiny_params()))


def presets_in_order(spec: SynthSpec) -> np.ndarray:
    presets_NxP = PresetSampler(spec, seed=0).sample_batch(np.zeros(len(CATEGORY_ORDER), int))
    presets_NxP[:, spec.used_position(DX7_ALGORITHM_PARAM)] = CATEGORY_ORDER
    return presets_NxP


def test_algorithms_keep_rendering_after_others_rendered(
    tiny_dx7_spec, short_settings, monkeypatch
) -> None:
    monkeypatch.setattr(faust_dx7, "dx7_dsp_source", tiny_dsp_source)
    renderer = Dx7Renderer(tiny_dx7_spec, short_settings)
    check_alternating_renders(renderer, presets_in_order(tiny_dx7_spec))
    renderer.close()


@pytest.mark.slow
def test_dx7_algorithms_keep_rendering_after_others_rendered(short_settings) -> None:
    """The real dx7.lib: three compiles of 15-60 s each."""
    from data_gen.synths.registry import get_spec

    spec = get_spec("dx7")
    check_alternating_renders(Dx7Renderer(spec, short_settings), presets_in_order(spec))


def test_failed_compile_names_the_algorithm_and_spares_the_others(
    tiny_dx7_spec, short_settings, monkeypatch
) -> None:
    """A failed compile leaves no broken processor behind: other algorithms still render."""
    broken = algorithm_of(CATEGORY_ORDER[0])

    def source(algorithm: int) -> str:
        return "process = nope;\n" if algorithm == broken else tiny_dsp_source(algorithm)

    monkeypatch.setattr(faust_dx7, "dx7_dsp_source", source)
    renderer = Dx7Renderer(tiny_dx7_spec, short_settings)
    presets_NxP = presets_in_order(tiny_dx7_spec)
    renderer.render(presets_NxP[1:2])  # B renders first, so the failure follows a render
    with pytest.raises(ValueError, match=rf"dx7_dsp_source\({broken}\).*does not compile"):
        renderer.render(presets_NxP[:1])
    audio_2xS = renderer.render(presets_NxP[1:3])
    assert np.all(np.isfinite(audio_2xS)) and np.all(np.abs(audio_2xS).max(axis=1) > 0)
    assert broken not in renderer.compiled_algorithms
