"""DX7 engine: one compiled Faust processor per algorithm, each on its own engine, kept."""

from __future__ import annotations

from typing import Any, NamedTuple

import dawdreamer as daw
import numpy as np

from data_gen.render.faust import FaustSliders, compile_poly, hold_excluded
from data_gen.render.sequence import Renderer
from data_gen.render.settings import RenderSettings
from data_gen.synths.dx7 import DX7_ALGORITHM_PARAM, algorithm_of, dx7_dsp_source
from data_gen.synths.spec import SynthSpec


class _Algorithm(NamedTuple):
    """One compiled algorithm: the engine that owns its processor, and its slider map."""

    engine: Any
    processor: Any
    sliders: FaustSliders


class Dx7Renderer(Renderer):
    """Renders the `dx7` spec (engine "faust_dx7").

    All 32 algorithms in one DSP do not compile in useful time, so the categorical `algorithm`
    parameter selects one of up to 32 processors, each compiled (~15-30 s) the first time a
    preset needs it and kept for the renderer's life. Pools route work by algorithm so a worker
    rarely compiles a new one.

    Each algorithm gets its own RenderEngine: in DawDreamer 0.9.0, `make_faust_processor` on an
    engine that has already rendered can fail with "undefined symbol : process" (the new, still
    empty processor gets prepared, i.e. compiled, as it joins the engine's prepared graph), and
    that broken processor then stays in the graph. A fresh engine per algorithm never has a
    prepared graph when its processor is made. The render sequence is the base class's, played
    on the engine of the preset's algorithm.
    """

    quiet = True

    def __init__(self, spec: SynthSpec, settings: RenderSettings) -> None:
        super().__init__(spec, settings)
        self._algorithm_pos = spec.used_position(DX7_ALGORITHM_PARAM)
        self._slider_params = [p for p in spec.used_params if p.name != DX7_ALGORITHM_PARAM]
        self._slider_pos = np.array(
            [i for i, p in enumerate(spec.used_params) if p.name != DX7_ALGORITHM_PARAM]
        )
        self._compiled: dict[int, _Algorithm] = {}
        self.compile_seconds: dict[int, float] = {}

    @property
    def compiled_algorithms(self) -> list[int]:
        return sorted(self._compiled)

    def _processor_for(self, raw_P: np.ndarray) -> Any:
        # The algorithm entry is already the raw value of its category; recover the index.
        values = np.asarray(self.spec.used_params[self._algorithm_pos].values)
        category = int(np.abs(values - raw_P[self._algorithm_pos]).argmin())
        compiled = self._algorithm(algorithm_of(category))
        # The base class loads and plays the processor on `self.engine`: point it at the
        # engine that owns this processor (it reloads the graph only when the processor changes).
        self.engine = compiled.engine
        compiled.sliders.apply(compiled.processor, raw_P[self._slider_pos])
        return compiled.processor

    def processor(self, algorithm: int) -> tuple[Any, FaustSliders]:
        """The processor of one algorithm (1..32) and its slider map, compiled on first use."""
        compiled = self._algorithm(algorithm)
        return compiled.processor, compiled.sliders

    def _algorithm(self, algorithm: int) -> _Algorithm:
        if algorithm in self._compiled:
            return self._compiled[algorithm]
        what = f"dx7 algorithm {algorithm}"
        if self.on_compile is not None:
            self.on_compile(what, False)
        origin = f"dx7_dsp_source({algorithm}) (synth {self.spec.name!r})"
        # A new engine even for the first algorithm: it must not have rendered (see class doc).
        # If the compile fails, the engine and its broken processor are dropped with it.
        engine = daw.RenderEngine(self.settings.sample_rate, self.settings.block_size)
        processor, seconds = compile_poly(
            engine, f"dx7_alg{algorithm}", dx7_dsp_source(algorithm), origin
        )
        hold_excluded(processor, self.spec, origin)
        self._compiled[algorithm] = _Algorithm(
            engine, processor, FaustSliders(processor, self._slider_params, origin)
        )
        self.compile_seconds[algorithm] = seconds
        if self.on_compile is not None:
            self.on_compile(what, True)
        return self._compiled[algorithm]

    def close(self) -> None:
        self._compiled.clear()
        super().close()
