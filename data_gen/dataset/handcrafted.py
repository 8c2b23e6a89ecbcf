"""Hand-crafted preset sets -> dataset folders (rendered as given, RMS-filtered, with a report)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.dataset.options import Part, WriterOptions
from data_gen.dataset.production import AudioModel, build_generation_metadata, run_writer
from data_gen.render import rms as rms_filter

REPORT_FILE = "preset_report.json"


def write_preset_set(
    out_dir: str | os.PathLike,
    spec,
    settings,
    model: AudioModel,
    presets_NxP: np.ndarray,
    options: WriterOptions,
    *,
    split: str = "test",
    names: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    processing_report: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Render and embed the given presets as they are (no redraw) and write them; return a report.

    `presets_NxP` are preset vectors in the paper's format, already processed (used parameters,
    clipped, snapped, deduplicated: `data_gen.presets.processing.process_presets`). Example `i`
    is row `i`; a row whose render fails or whose RMS is outside `settings.rms_range` is dropped
    and listed in `failed_indices`. The report (also written as `preset_report.json`) joins the
    processing report with the drops of this step, each with its reason.
    """
    presets_NxP = np.asarray(spec.check_presets(np.atleast_2d(presets_NxP)), np.float32)
    n = len(presets_NxP)
    names = list(names) if names is not None else [f"preset {i}" for i in range(n)]
    sources = list(sources) if sources is not None else [""] * n
    if len(names) != n or len(sources) != n:
        raise ValueError(f"{n} presets but {len(names)} names and {len(sources)} sources")
    digest = hashlib.sha256(presets_NxP.tobytes()).hexdigest()[:16]
    meta = build_generation_metadata(
        spec, settings, model, Part(split, n, seed=0), options,
        extra_meta={"preset_set_sha256": digest, "preset_names": names},
    )  # fmt: skip
    drops: dict[int, str] = {}

    def results(pool, start: int, end: int):
        for r in pool.render_presets(presets_NxP[start:end], indices=range(start, end)):
            reason = None if r.failed else rms_filter.rejection(r.rms, settings.rms_range)
            if reason is not None:
                r.failed, r.error = True, reason
            if r.failed:
                drops[int(r.index)] = f"render: {r.error}"
            yield r

    final = run_writer(out_dir, meta, results, spec, settings, model, options)
    report = {
        "num_presets": n,
        "num_written": final["num_examples"],
        "dropped_at_render": [
            {
                "index": i,
                "name": names[i],
                "source": sources[i],
                "reason": drops.get(i, "dropped by an earlier, interrupted run"),
            }
            for i in final["failed_indices"]
        ],
        "processing": processing_report,
    }
    path = Path(out_dir) / REPORT_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, path)
    return report
