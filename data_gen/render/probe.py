"""Read a plug-in's (or Faust DSP's) parameters in a separate DawDreamer process.

`probe(path, engine, ...)` runs `python -m data_gen.render.probe_worker` with a JSON request on
stdin and reads one JSON answer from stdout: a crashing or hanging plug-in ends that process, never
the command that asked (it gets a ValueError naming the file). The worker loads the synth once and
returns one row per parameter: for a VST its name, default (the normalised value it holds after
loading) and value text at `sweep` evenly spaced normalised values; for Faust the slider's
address, label, range, step, default and the labels of a `style:menu`/`style:radio` declared in
the DSP source. A request can also ask for the texts at given values (`at`), which is how a spec's
categories are checked against the plug-in, and for the parameter values stored in preset files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

MARK = "PROBE-JSON "  # starts the line of stdout that holds the answer
DEFAULT_SWEEP = 1001


def probe(
    path: str | os.PathLike,
    engine: str,
    sweep: int = DEFAULT_SWEEP,
    at: dict[int, list[float]] | None = None,
    timeout_s: float = 300.0,
    presets: list[str] | None = None,
) -> dict[str, Any]:
    """The parameter rows of the plug-in or Faust file at `path`, read in a child process.

    With `presets` (VST: .fxp/.fxb, .vstpreset, or saved plug-in states), the answer's
    "presets" holds, per file, the normalised value of every parameter after loading it.

    Raises ValueError naming the file when the child crashes, hangs past `timeout_s`, or
    DawDreamer cannot load it.
    """
    if engine not in ("vst", "faust"):
        raise ValueError(f"engine must be 'vst' or 'faust', got {engine!r}")
    request = {
        "path": str(path),
        "engine": engine,
        "sweep": int(sweep),
        "at": {str(k): [float(v) for v in vs] for k, vs in (at or {}).items()},
        "presets": [str(p) for p in presets or ()],
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "data_gen.render.probe_worker"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        raise ValueError(
            f"{path}: not loaded within {timeout_s:g} s (hung, or slow: raise --timeout)"
        ) from None
    for line in proc.stdout.splitlines():
        if line.startswith(MARK) and proc.returncode == 0:
            return json.loads(line[len(MARK) :])
    if proc.returncode < 0:
        raise ValueError(f"{path}: the plug-in crashed (signal {-proc.returncode})")
    if "Traceback" not in proc.stderr:  # no Python error: the plug-in itself ended the process
        raise ValueError(f"{path}: the plug-in ended its process (exit code {proc.returncode})")
    last = [s for s in proc.stderr.splitlines() if s.strip()][-1].strip()
    raise ValueError(f"{path}: DawDreamer could not load it ({last})")
