"""The paper's processing of a hand-crafted preset set (reference facts 8.3), with a report.

In order: (1) keep the spec's used parameters, a missing one taking the spec's default; (2) clip
continuous values to their sampling interval; (3) snap discrete values to the nearest allowed
value (an excluded category, e.g. an S&H LFO, goes to its nearest allowed neighbour);
(4) drop exact duplicates, keeping the first; (5) render, and drop presets whose RMS is outside
`rms_range` (strict bounds) or whose render failed. Every dropped preset is listed with its reason.

Deviation from the reference, on purpose: the reference turns a used parameter missing from a
preset into 0.0 (facts 8.3 step 1), which silences e.g. an operator's output level; here it takes
the spec's default (the value the renderer holds when the parameter is excluded);
`reference_compat=True` (`--reference-compat`) restores the 0.0. The reference
also renders before removing duplicates; rendering only the first copy keeps the same result
(identical presets render identically) and saves time.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from data_gen.presets.errors import problem
from data_gen.presets.presets_json import ImportedPreset
from data_gen.render import rms as rms_filter
from data_gen.synths.spec import SynthSpec

# Renders presets_NxP; yields one result per row, in order, with `.rms`, `.failed`, `.error`
# (`data_gen.render.pool.pool_render_fn` renders through worker processes).
RenderFn = Callable[[np.ndarray], Iterable[Any]]
_ALTERED_TOL = 1e-3  # below this a change is the 3-decimal value grid, not a real alteration


@dataclasses.dataclass
class ProcessedPresets:
    """The kept presets: vectors in the paper's format, names, sources, RMS, and the report."""

    spec: SynthSpec
    vectors: np.ndarray  # float32 [N, P], the paper's preset format
    names: list[str]
    sources: list[str]
    rms: np.ndarray  # NaN when not rendered
    report: dict[str, Any]

    def to_imported(self) -> list[ImportedPreset]:
        """Kept presets as raw values of the used parameters (after clip and snap)."""
        raw = self.spec.to_render_values(self.vectors) if len(self.names) else []
        used = self.spec.used_params
        return [
            ImportedPreset(n, s, {p.name: float(v) for p, v in zip(used, row, strict=True)})
            for n, s, row in zip(self.names, self.sources, raw, strict=True)
        ]


def presets_to_raw(
    spec: SynthSpec,
    presets: Sequence[ImportedPreset],
    lenient: bool = False,
    reference_compat: bool = False,
) -> tuple[np.ndarray, list[int], dict[str, int], dict[int, str]]:
    """Raw values [M, P] of the used parameters, the input positions kept, how often each
    parameter was missing (filled with its default, or 0.0 with `reference_compat`), and why the
    others were skipped.

    Unknown names or values outside [0, 1] raise `PresetFileError` naming the preset; `lenient`
    warns and skips the preset instead.
    """
    known = {p.name for p in spec.params}
    used = spec.used_params
    defaults = np.array([0.0 if reference_compat else p.default for p in used])
    rows, kept, missing, skipped = [], [], Counter(), {}
    for k, preset in enumerate(presets):
        unknown = sorted(set(preset.parameters) - known)
        bad = {n: v for n, v in preset.parameters.items() if not 0.0 <= v <= 1.0}
        if unknown or bad:
            reason = (
                f"unknown parameters for {spec.name}: {unknown}"
                if unknown
                else f"values outside [0, 1]: {bad}"
            )
            problem(lenient, preset.source, reason, f"preset {preset.name!r}")
            skipped[k] = reason
            continue
        row = defaults.copy()
        for i, p in enumerate(used):
            if p.name in preset.parameters:
                row[i] = preset.parameters[p.name]
            else:
                missing[p.name] += 1
        rows.append(row)
        kept.append(k)
    raw = np.array(rows, np.float64).reshape(len(rows), spec.num_used)
    return raw, kept, dict(missing), skipped


def process_presets(
    spec: SynthSpec,
    presets: Sequence[ImportedPreset],
    render: RenderFn | None = None,
    rms_range: tuple[float, float] = rms_filter.DEFAULT_RMS_RANGE,
    lenient: bool = False,
    reference_compat: bool = False,
) -> ProcessedPresets:
    """Steps 1-5 above; without `render`, step 5 is skipped (and the report says so)."""
    dropped: list[dict[str, Any]] = []
    raw, positions, missing, skipped = presets_to_raw(spec, presets, lenient, reference_compat)
    dropped += [_entry(presets[k], reason) for k, reason in skipped.items()]
    vectors = spec.from_render_values(raw)
    altered = np.abs(spec.to_render_values(vectors) - raw) > _ALTERED_TOL
    altered_counts = {
        p.name: int(n) for p, n in zip(spec.used_params, altered.sum(0), strict=True) if n
    }

    first_of: dict[bytes, int] = {}
    unique: list[int] = []
    for row, k in enumerate(positions):
        key = vectors[row].tobytes()
        if key in first_of:
            twin = presets[positions[first_of[key]]]
            dropped.append(_entry(presets[k], f"duplicate of {twin.name!r} ({twin.source})"))
        else:
            first_of[key] = row
            unique.append(row)

    rms = np.full(len(unique), np.nan)
    keep = np.ones(len(unique), bool)
    if render is not None and unique:
        results = list(render(vectors[unique]))
        if len(results) != len(unique):
            raise RuntimeError(f"renderer returned {len(results)} results for {len(unique)}")
        for j, result in enumerate(results):
            preset = presets[positions[unique[j]]]
            rms[j] = result.rms
            if getattr(result, "failed", False):
                keep[j] = False
                dropped.append(_entry(preset, f"render failed: {result.error}"))
            elif (reason := rms_filter.rejection(result.rms, rms_range)) is not None:
                keep[j] = False
                dropped.append(_entry(preset, reason))

    rows = [unique[j] for j in range(len(unique)) if keep[j]]
    kept = [presets[positions[r]] for r in rows]
    report = {
        "synth": spec.name,
        "synth_fingerprint": spec.fingerprint(),
        "num_input": len(presets),
        "num_kept": len(kept),
        "num_dropped": len(dropped),
        "rendered": render is not None,
        "rms_range": list(rms_range),
        "missing_parameters_set_to_default": {} if reference_compat else missing,
        "missing_parameters_set_to_zero": missing if reference_compat else {},
        "values_clipped_or_snapped": altered_counts,
        "dropped": dropped,
        "notes": [
            "A used parameter missing from a preset is set to 0.0 (--reference-compat)."
            if reference_compat
            else "A used parameter missing from a preset takes the spec's default; the "
            "reference sets it to 0.0 (--reference-compat).",
            "Continuous values clipped to their sampling interval, discrete values snapped to "
            "the nearest allowed value (counts in values_clipped_or_snapped).",
        ],
    }
    return ProcessedPresets(
        spec=spec,
        vectors=vectors[rows].astype(np.float32).reshape(len(rows), spec.num_used),
        names=[p.name for p in kept],
        sources=[p.source for p in kept],
        rms=rms[keep],
        report=report,
    )


def _entry(preset: ImportedPreset, reason: str) -> dict[str, str]:
    return {"name": preset.name, "source": preset.source, "reason": reason}
