"""The paper's render sequence on one DawDreamer engine; engines differ only in their processor."""

from __future__ import annotations

import abc
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import dawdreamer as daw
import numpy as np

from data_gen.render import fresh_state
from data_gen.render.settings import RenderSettings
from data_gen.synths.spec import SynthSpec

# The flush note and the velocity-0 note-off are sent as in the reference (facts 2.4).
_FLUSH_SECONDS = 0.01


def finish_audio(audio_CxS: np.ndarray, settings: RenderSettings) -> np.ndarray:
    """Engine output [channels, samples] -> mono float32[S] with the linear fade-out applied."""
    mono_S = np.asarray(audio_CxS, dtype=np.float32).mean(axis=0)
    n = settings.num_samples
    if mono_S.shape[0] != n:  # engines render whole blocks; the clip length is a setting
        mono_S = np.pad(mono_S[:n], (0, max(0, n - mono_S.shape[0])))
    fade = settings.fade_samples
    if fade:
        mono_S[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return mono_S


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence C++ stderr chatter (Faust prints a line for every velocity-0 note-off)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class Renderer(abc.ABC):
    """An in-process renderer: one engine, excluded parameters held, used ones set per preset.

    Subclasses build their processor(s) and set parameters; this class plays the note exactly as
    the reference does: a velocity-0 flush note rendered for 10 ms, then the note (the flush note
    stays in the MIDI buffer), the full render, MIDI cleared, mono mean, linear fade-out.

    A note never depends on the notes before it. Faust processors are cleared by DawDreamer at
    every render (`instanceClear`); engines whose processors keep state set `fork_per_note`, and
    every note is then played in a forked child (`fresh_state`), from the state the processor
    had before the first note.
    """

    quiet = False  # set by engines whose processors print on every note
    fork_per_note = False  # set by engines whose processors keep state between renders

    def __init__(self, spec: SynthSpec, settings: RenderSettings) -> None:
        self.spec = spec
        self.settings = settings
        self.engine = daw.RenderEngine(settings.sample_rate, settings.block_size)
        self._loaded: Any = None
        # Called as (what, finished) around a long lazy compile, so a pool can extend its
        # deadline while compiling and restore it after.
        self.on_compile: Callable[[str, bool], None] | None = None

    @abc.abstractmethod
    def _processor_for(self, raw_P: np.ndarray) -> Any:
        """The processor that plays this preset, with the preset's parameters set on it."""

    def close(self) -> None:
        """Release the engine (workers call this on exit; in-process users may rely on GC)."""
        self._loaded = None
        self.engine = None

    def render_one(self, preset_P: np.ndarray) -> np.ndarray:
        """One preset vector float32[P] -> mono clip float32[S]."""
        raw_P = self.spec.to_render_values(np.asarray(preset_P, dtype=np.float32)[None])[0]
        if self.fork_per_note and fresh_state.AVAILABLE:
            return fresh_state.render_in_child(
                lambda: self._render_raw(raw_P), self.settings.num_samples
            )
        return self._render_raw(raw_P)

    def _render_raw(self, raw_P: np.ndarray) -> np.ndarray:
        processor = self._processor_for(raw_P)
        if processor is not self._loaded:
            self.engine.load_graph([(processor, [])])
            self._loaded = processor
        return finish_audio(self._play(processor), self.settings)

    def render(self, presets_NxP: np.ndarray) -> np.ndarray:
        """Preset vectors float32[N, P] -> mono clips float32[N, S]."""
        presets_NxP = self.spec.check_presets(np.atleast_2d(presets_NxP))
        out_NxS = np.empty((presets_NxP.shape[0], self.settings.num_samples), np.float32)
        for i, preset_P in enumerate(presets_NxP):
            out_NxS[i] = self.render_one(preset_P)
        return out_NxS

    def _play(self, processor: Any) -> np.ndarray:
        s = self.settings
        with quiet_stderr() if self.quiet else contextlib.nullcontext():
            processor.clear_midi()
            processor.add_midi_note(s.midi_note, 0, 0.0, _FLUSH_SECONDS)
            self.engine.render(_FLUSH_SECONDS)
            processor.add_midi_note(s.midi_note, s.velocity, _FLUSH_SECONDS, s.note_duration)
            self.engine.render(s.render_duration)
            processor.clear_midi()
        return self.engine.get_audio()
