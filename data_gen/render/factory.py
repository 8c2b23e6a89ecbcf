"""`make_renderer`: the in-process renderer of a spec's engine kind."""

from __future__ import annotations

from data_gen.render.sequence import Renderer
from data_gen.render.settings import RenderSettings
from data_gen.synths.spec import SynthSpec

ENGINES = ("faust", "faust_dx7", "vst")


def make_renderer(spec: SynthSpec, settings: RenderSettings | None = None) -> Renderer:
    """Builds the engine for `spec.engine` ("faust", "faust_dx7" or "vst") in this process.

    DawDreamer engines deadlock under threads here: use one renderer per process (RenderPool).
    """
    settings = settings if settings is not None else RenderSettings()
    # Imported on demand so a spec of one kind never needs another engine's dependencies.
    if spec.engine == "faust":
        from data_gen.render.faust import FaustRenderer

        return FaustRenderer(spec, settings)
    if spec.engine == "faust_dx7":
        from data_gen.render.faust_dx7 import Dx7Renderer

        return Dx7Renderer(spec, settings)
    if spec.engine == "vst":
        from data_gen.render.vst import VstRenderer

        return VstRenderer(spec, settings)
    raise ValueError(f"synth {spec.name!r}: unknown engine {spec.engine!r}; known: {ENGINES}")
