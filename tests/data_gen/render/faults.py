"""Fault injection from the tests: a renderer factory whose renderer crashes, hangs or raises.

`faulty_factory(plan, marks_dir)` is sent to the pool's spawned workers (a partial of a
module-level function pickles). `plan` maps a label to (kind, preset, times): when a worker is
asked to render exactly `preset`, it does `kind` ("crash": `os._exit(77)`, "hang": sleep
forever, "raise": RuntimeError) for the first `times` such requests across all processes
(counted with marker files, since a crash takes the worker's memory with it), then renders
normally.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping

import numpy as np

from data_gen.render.factory import make_renderer

Plan = Mapping[str, tuple[str, np.ndarray, float]]


def faulty_factory(plan: Plan, marks_dir: str) -> functools.partial:
    return functools.partial(_faulty_renderer, plan=dict(plan), marks_dir=str(marks_dir))


def _faulty_renderer(spec, settings, *, plan: Plan, marks_dir: str):
    renderer = make_renderer(spec, settings)
    real_render_one = renderer.render_one
    by_preset = {np.asarray(p, np.float32).tobytes(): (label, kind, n) for label, (kind, p, n) in
                 plan.items()}  # fmt: skip

    def render_one(preset_P: np.ndarray) -> np.ndarray:
        fault = by_preset.get(np.asarray(preset_P, np.float32).tobytes())
        if fault is not None and _take(marks_dir, fault[0], fault[2]):
            kind = fault[1]
            if kind == "crash":
                os._exit(77)
            if kind == "hang":
                while True:
                    time.sleep(3600)
            raise RuntimeError(f"injected failure ({fault[0]})")
        return real_render_one(preset_P)

    renderer.render_one = render_one
    return renderer


def _take(marks_dir: str, label: str, times: float) -> bool:
    """True for the first `times` calls with `label` across processes (one marker file each)."""
    done = sum(name.startswith(label + ".") for name in os.listdir(marks_dir))
    if done >= times:
        return False
    open(os.path.join(marks_dir, f"{label}.{done}"), "x").close()
    return True
