"""Faust engine: a DSP file compiled as a polyphonic MIDI instrument, sliders set by address."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.render.sequence import Renderer, quiet_stderr
from data_gen.render.settings import RenderSettings
from data_gen.synths.spec import Param, SynthSpec

FAUST_DIR = Path(__file__).resolve().parents[1] / "synths" / "faust"
# Voices allocated per processor: the flush note plus the played note need at most two.
FAUST_VOICES = 4


def resolve_faust_source(source: str) -> Path:
    """A spec's Faust `source`: an absolute path, or a file name under data_gen/synths/faust/."""
    path = Path(source)
    if not path.is_absolute():
        path = FAUST_DIR / path
    if not path.is_file():
        raise FileNotFoundError(
            f"Faust source {str(path)!r} not found (spec source {source!r}; relative names are "
            f"looked up in {FAUST_DIR})"
        )
    return path


def compile_poly(engine: Any, name: str, code: str, origin: str) -> tuple[Any, float]:
    """Compile Faust code as a polyphonic instrument; returns (processor, seconds)."""
    processor = engine.make_faust_processor(name)
    processor.num_voices = FAUST_VOICES  # must precede compile(), or the DSP stays silent
    start = time.perf_counter()
    try:
        # Every poly compile prints a harmless "undefined symbol : effect" line.
        with quiet_stderr():
            processor.set_dsp_string(code)
            ok = processor.compile()
    except RuntimeError as err:
        raise ValueError(f"Faust source {origin} does not compile: {err}") from None
    if not ok:
        raise ValueError(f"Faust source {origin} does not compile (compile() returned False)")
    return processor, time.perf_counter() - start


class FaustSliders:
    """Maps raw [0, 1] values of spec parameters onto a compiled processor's sliders.

    A raw value r becomes `min + r * (max - min)` in the slider's units, rounded to the slider's
    step (facts: Faust sliders use native units, not [0, 1]). Parameters with an `address` are
    found by it; others by `index`, the position in `get_parameters_description()`.
    """

    def __init__(self, processor: Any, params: Sequence[Param], origin: str) -> None:
        described = processor.get_parameters_description()
        by_address = {d["name"]: d for d in described}
        rows = []
        for p in params:
            if p.address is not None:
                row = by_address.get(p.address)
                if row is None:
                    raise ValueError(
                        f"{origin}: parameter {p.name!r} has address {p.address!r}, which the "
                        f"compiled DSP does not expose; it exposes {sorted(by_address)[:8]} ..."
                    )
            elif 0 <= p.index < len(described):
                row = described[p.index]
            else:
                raise ValueError(
                    f"{origin}: parameter {p.name!r} has no address and index {p.index} is not "
                    f"in 0..{len(described) - 1}"
                )
            rows.append(row)
        self.slider_index = [int(r["index"]) for r in rows]
        self._min = np.array([float(r["min"]) for r in rows])
        self._span = np.array([float(r["max"]) for r in rows]) - self._min
        self._step = np.array([float(r["step"]) or 1.0 for r in rows])

    def native(self, raw: np.ndarray) -> np.ndarray:
        """Raw [0, 1] values -> slider values, snapped to each slider's step and range."""
        steps = np.round(np.asarray(raw, np.float64) * self._span / self._step)
        return self._min + np.clip(steps * self._step, 0.0, self._span)

    def apply(self, processor: Any, raw: np.ndarray) -> None:
        for index, value in zip(self.slider_index, self.native(raw), strict=True):
            processor.set_parameter(index, float(value))


def hold_excluded(processor: Any, spec: SynthSpec, origin: str) -> None:
    """Set every excluded slider once at its default raw value."""
    excluded = [p for p in spec.excluded_params if p.address is not None or p.index >= 0]
    if excluded:
        FaustSliders(processor, excluded, origin).apply(
            processor, np.array([p.default for p in excluded])
        )


class FaustRenderer(Renderer):
    """Renders a spec whose `source` is a Faust DSP (engine "faust")."""

    quiet = True

    def __init__(self, spec: SynthSpec, settings: RenderSettings) -> None:
        super().__init__(spec, settings)
        path = resolve_faust_source(spec.source)
        origin = f"{path} (synth {spec.name!r})"
        self.processor, self.compile_seconds = compile_poly(
            self.engine, spec.name, path.read_text(), origin
        )
        hold_excluded(self.processor, spec, origin)
        self._sliders = FaustSliders(self.processor, spec.used_params, origin)

    def _processor_for(self, raw_P: np.ndarray) -> Any:
        self._sliders.apply(self.processor, raw_P)
        return self.processor
