"""VST engine: a plug-in instrument hosted by DawDreamer, parameters set by VST index.

The plug-in file comes from `data_gen.render.plugins.resolve_plugin` (flag, environment, spec).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from data_gen.render.plugins import resolve_plugin
from data_gen.render.rms import clip_rms
from data_gen.render.sequence import Renderer, quiet_stderr
from data_gen.render.settings import RenderSettings
from data_gen.synths.spec import SynthSpec


class VstRenderer(Renderer):
    """Renders a spec whose `source` is a plug-in path (engine "vst"); values are raw [0, 1].

    Every note is played in a forked child (`fork_per_note`): a plug-in is a black box whose
    phases, buffers and random generators would otherwise carry from note to note (amsynth's do;
    see `fresh_state`). The parent's plug-in plays only the start-up check note, so every note
    starts from the state after that one, whatever was rendered before, on any worker; a preset
    that drives the plug-in to NaN (one amsynth preset did) cannot poison the next ones.
    """

    fork_per_note = True

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
        """An effect or a MIDI-deaf plug-in stays silent on a note: refuse it with a clear error.

        Played here, in this process: the state it leaves is where every later note starts.
        """
        self.engine.load_graph([(self.processor, [])])
        self._loaded = self.processor
        if clip_rms(self._play(self.processor)) == 0.0:
            raise ValueError(
                f"{where} produced no audio for MIDI note {self.settings.midi_note} with its "
                "default patch: it is not an instrument (or ignores MIDI)"
            )

    def _processor_for(self, raw_P: np.ndarray) -> Any:
        for index, value in zip(self._indices, raw_P, strict=True):
            self.processor.set_parameter(index, float(value))
        return self.processor
