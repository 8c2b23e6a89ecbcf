"""A note never depends on the notes before it: A, B, A gives the same A, byte for byte."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from data_gen.render import RenderSettings, make_renderer
from data_gen.render.fresh_state import render_in_child
from data_gen.synths.dx7 import DX7_ALGORITHM_PARAM
from data_gen.synths.registry import get_spec
from data_gen.synths.sampling import PresetSampler

AMSYNTH = Path("/usr/lib/vst/amsynth_vst.so")
SHORT = RenderSettings(sample_rate=22050, note_duration=1.0, render_duration=2.0)
_touched = []


def _touch_and_return() -> np.ndarray:
    _touched.append(1)
    return np.arange(5, dtype=np.float32)


def test_the_child_returns_its_clip_and_leaves_the_parent_alone() -> None:
    np.testing.assert_array_equal(render_in_child(_touch_and_return, 5), np.arange(5))
    assert _touched == []  # the child's change died with it


def test_a_failing_or_dying_child_is_an_error_naming_why() -> None:
    def fails() -> np.ndarray:
        raise ValueError("no such parameter")

    with pytest.raises(RuntimeError, match="ValueError: no such parameter"):
        render_in_child(fails, 5)
    with pytest.raises(RuntimeError, match="died of SIGKILL"):  # as a plug-in crash would
        render_in_child(lambda: os.kill(os.getpid(), signal.SIGKILL), 5)
    with pytest.raises(RuntimeError, match="sending 21 bytes .expected 41"):
        render_in_child(_touch_and_return, 10)


def _assert_a_b_a(spec, presets_3xP: np.ndarray, settings: RenderSettings = SHORT) -> None:
    a1, b, a2 = make_renderer(spec, settings).render(presets_3xP)
    assert np.abs(a1 - b).max() > 1e-3  # B really is another sound
    assert a1.tobytes() == a2.tobytes()


@pytest.mark.skipif(not AMSYNTH.exists(), reason="Debian package amsynth not installed")
def test_amsynth_notes_do_not_depend_on_the_previous_note() -> None:
    """Played in one process, A after B differed from A by up to 0.8 peak (phases, glides) and
    noise oscillators drew from one process-wide generator."""
    spec = get_spec("amsynth")
    presets = PresetSampler(spec, seed=0).sample_batch(np.arange(4))
    _assert_a_b_a(spec, presets[[0, 1, 0]])
    noisy = presets[2:4].copy()
    for name in ("osc1_waveform", "osc2_waveform"):
        noisy[:, spec.used_position(name)] = 3  # category 3: the noise oscillator
    _assert_a_b_a(spec, noisy[[0, 1, 0]])


def test_minisub_notes_do_not_depend_on_the_previous_note() -> None:
    spec = get_spec("minisub")
    _assert_a_b_a(spec, PresetSampler(spec, seed=0).sample_batch(np.array([0, 1, 0])))


def test_dx7_notes_do_not_depend_on_the_previous_note() -> None:
    """One algorithm (one compile): DawDreamer clears a Faust processor at every render."""
    spec = get_spec("dx7")
    presets = PresetSampler(spec, seed=0).sample_batch(np.array([0, 1, 0]))
    presets[:, spec.used_position(DX7_ALGORITHM_PARAM)] = 0
    _assert_a_b_a(spec, presets)
