"""Rendering presets to audio with DawDreamer: settings, engines, the paper's sequence, a pool."""

from data_gen.render.examples import RenderResult, render_example, render_preset
from data_gen.render.factory import ENGINES, make_renderer
from data_gen.render.pool import RenderPool, RenderPoolError
from data_gen.render.settings import RenderSettings

__all__ = [
    "ENGINES",
    "RenderPool",
    "RenderPoolError",
    "RenderResult",
    "RenderSettings",
    "make_renderer",
    "render_example",
    "render_preset",
]
