"""Hand-crafted presets of any VST synth, read by the plug-in itself from its own files.

A VST2 `.fxp` program or `.fxb` bank (DawDreamer loads the bank's current program), a VST3
`.vstpreset`, or a plug-in state saved by DawDreamer's `save_state`: each file is loaded into
the plug-in in a worker process (`data_gen.render.probe`) and the normalised value of every spec
parameter read back. So the plug-in, not a format parser of ours, decides what a file means, and
a user's synth gets the paper's hand-crafted evaluation and sound-matching split from its own
preset files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from data_gen.presets.errors import problem as problem_or_warn
from data_gen.presets.presets_json import ImportedPreset
from data_gen.synths.spec import SynthSpec

SUFFIXES = ".fxp/.fxb (VST2), .vstpreset (VST3) or a saved plug-in state"


def read_plugin_presets(
    spec: SynthSpec,
    paths: Sequence[str | os.PathLike],
    plugin: str | os.PathLike | None = None,
    lenient: bool = False,
) -> list[ImportedPreset]:
    """One preset per file, as raw [0, 1] values of the spec's used parameters.

    A file the plug-in cannot load is a PresetFileError naming it (with `lenient`: warned and
    skipped); one worker process reads them all (one process per file after a crash, to name
    the culprit). DawDreamer opens the plug-in's editor to set a saved state, so state files
    need a display; .fxp/.fxb do not. The plug-in is found as for rendering (`plugin`,
    $JAXPROXY_PLUGIN_<SYNTH>, the spec).
    """
    from data_gen.render.plugins import resolve_plugin
    from data_gen.render.probe import probe

    if spec.engine != "vst":
        raise ValueError(f"synth {spec.name!r} is not a VST plug-in: it has no preset files")
    files = [Path(p) for p in paths]
    path = resolve_plugin(spec, plugin)
    try:
        answer = probe(path, "vst", sweep=2, presets=[str(f) for f in files])
        size, reads = len(answer["rows"]), answer["presets"]
    except ValueError:
        if len(files) == 1:
            raise
        # One file crashed the plug-in: read them one per process, to name it and keep the rest.
        size, reads = 0, []
        for file in files:
            try:
                answer = probe(path, "vst", sweep=2, presets=[str(file)])
                size, reads = len(answer["rows"]), [*reads, *answer["presets"]]
            except ValueError as e:
                reads.append({"error": str(e)})
    presets = []
    for file, read in zip(files, reads, strict=True):
        problem = read.get("error")
        if problem is None and len(read["values"]) != size:
            problem = f"{len(read['values'])} values, the plug-in has {size} parameters"
        if problem is not None:
            problem_or_warn(lenient, str(file), f"the plug-in could not load it ({problem})")
            continue
        values = read["values"]
        parameters = {p.name: values[p.index] for p in spec.used_params}
        presets.append(ImportedPreset(file.stem, f"{file}#1", parameters))
    return presets
