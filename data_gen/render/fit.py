"""Whether a spec fits its synth file: the plug-in (or Faust DSP) probed, its answer compared."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from data_gen.render.probe import probe


def check_fits(spec: Any, plugin: str | os.PathLike | None = None) -> Path:
    """The synth file of `spec` (`plugin`, else as `resolve_plugin` finds it; a Faust spec's
    source), checked: ValueError (one line, naming the parameter) when the spec does not fit it.

    A spec file a person wrote or edited is checked so before anything renders.
    """
    from data_gen.render.faust import resolve_faust_source
    from data_gen.render.plugins import resolve_plugin
    from data_gen.synths.describe import fit_problem

    if spec.engine == "vst":
        path, engine = resolve_plugin(spec, plugin), "vst"
    elif spec.engine == "faust" and plugin is None:
        path, engine = resolve_faust_source(spec.source), "faust"
    else:
        raise ValueError(f"--plugin: synth {spec.name!r} is not a VST plug-in ({spec.engine})")
    at = {p.index: list(p.values) for p in spec.params if p.values is not None}
    problem = fit_problem(spec, probe(path, engine, sweep=2, at=at))
    if problem:
        raise ValueError(f"synth {spec.name!r} does not fit {path}: {problem}")
    return path
