"""Rendering presets to audio with DawDreamer: settings, engines, the paper's sequence, a pool.

The names below load their module on first use (PEP 562), so importing a light submodule such as
`data_gen.render.settings` or `data_gen.render.rms` does not start DawDreamer or the pool.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ENGINES": "data_gen.render.factory",
    "make_renderer": "data_gen.render.factory",
    "RenderPool": "data_gen.render.pool",
    "RenderPoolError": "data_gen.render.worker_set",
    "RenderResult": "data_gen.render.examples",
    "render_example": "data_gen.render.examples",
    "render_preset": "data_gen.render.examples",
    "RenderSettings": "data_gen.render.settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'data_gen.render' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
