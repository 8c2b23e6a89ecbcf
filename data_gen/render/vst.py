"""VST engine: a plug-in instrument hosted by DawDreamer, parameters set by VST index.

The plug-in file comes from `data_gen.render.plugins.resolve_plugin` (flag, environment, spec).
"""

from __future__ import annotations

import time
from typing import Any

import dawdreamer as daw
import numpy as np

from data_gen.render.plugins import resolve_plugin
from data_gen.render.rms import clip_rms
from data_gen.render.sequence import Renderer, quiet_stderr
from data_gen.render.settings import RenderSettings
from data_gen.synths.spec import SynthSpec


class VstRenderer(Renderer):
    """Renders a spec whose `source` is a plug-in path (engine "vst"); values are raw [0, 1]."""

    def __init__(self, spec: SynthSpec, settings: RenderSettings) -> None:
        super().__init__(spec, settings)
        self._path = resolve_plugin(spec)
        where = f"plug-in {str(self._path)!r} (synth {spec.name!r})"
        start = time.perf_counter()
        try:
            with quiet_stderr():  # DawDreamer and plug-ins narrate every load
                self.processor = self.engine.make_plugin_processor(spec.name, str(self._path))
        except RuntimeError as err:
            raise ValueError(f"{where} could not be loaded by DawDreamer: {err}") from None
        self.load_seconds = time.perf_counter() - start
        self.resets = 0  # plug-ins rebuilt after a non-finite clip
        size = self.processor.get_plugin_parameter_size()
        bad = [p.name for p in spec.params if not 0 <= p.index < size]
        if bad:
            raise ValueError(f"{where} has {size} parameters; spec indices out of range: {bad}")
        if self.processor.get_num_output_channels() < 1:
            raise ValueError(f"{where} has no audio output: it is not an instrument")
        for p in spec.excluded_params:
            self.processor.set_parameter(p.index, float(p.default))
        self._indices = [p.index for p in spec.used_params]
        self._check_makes_sound(where)

    def _check_makes_sound(self, where: str) -> None:
        """An effect or a MIDI-deaf plug-in stays silent on a note: refuse it with a clear error."""
        self.engine.load_graph([(self.processor, [])])
        self._loaded = self.processor
        if clip_rms(self._play(self.processor)) == 0.0:
            raise ValueError(
                f"{where} produced no audio for MIDI note {self.settings.midi_note} with its "
                "default patch: it is not an instrument (or ignores MIDI)"
            )

    def render_one(self, preset_P: np.ndarray) -> np.ndarray:
        """As `Renderer.render_one`; after a non-finite clip the plug-in is rebuilt.

        A preset can drive amsynth's filter unstable; its voice state then stays NaN and every
        later note of that engine is NaN too (measured: a random amsynth preset poisoned all the
        following renders of its worker). The NaN clip is returned (its RMS is NaN, so the RMS
        filter refuses it) and the next preset starts on a fresh engine and plug-in.
        """
        audio_S = super().render_one(preset_P)
        if not np.isfinite(audio_S).all():
            self._rebuild()
        return audio_S

    def _rebuild(self) -> None:
        self.engine = daw.RenderEngine(self.settings.sample_rate, self.settings.block_size)
        with quiet_stderr():
            self.processor = self.engine.make_plugin_processor(self.spec.name, str(self._path))
        for p in self.spec.excluded_params:
            self.processor.set_parameter(p.index, float(p.default))
        self._loaded = None
        self.resets += 1

    def _processor_for(self, raw_P: np.ndarray) -> Any:
        for index, value in zip(self._indices, raw_P, strict=True):
            self.processor.set_parameter(index, float(value))
        return self.processor
