"""Read a plug-in's (or Faust DSP's) parameters in a separate DawDreamer process.

`probe(path, engine, ...)` runs `python -m data_gen.render.probe` with a JSON request on stdin
and reads one JSON answer from stdout: a crashing or hanging plug-in ends that process, never the
command that asked (it gets a ValueError naming the file). The worker loads the synth once and
returns one row per parameter: for a VST its name, default (the normalised value it holds after
loading) and value text at `sweep` evenly spaced normalised values; for Faust the slider's
address, label, range, step, default and the labels of a `style:menu`/`style:radio` declared in
the DSP source. A request can also ask for the texts at given values (`at`), which is how a spec's
categories are checked against the plug-in, and for the parameter values stored in preset files.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_MARK = "PROBE-JSON "
DEFAULT_SWEEP = 1001
_MENU = re.compile(r"""\(\s*"([^"\[]+)\s*\[[^"]*style:(?:menu|radio)\{([^}]*)\}""")
_MENU_ITEM = re.compile(r"""'([^']*)'\s*:\s*([-+0-9.eE]+)""")


def faust_menus(code: str) -> dict[str, list[str]]:
    """Slider label -> item names in value order, from `style:menu{'a':0;'b':1}` declarations."""
    menus = {}
    for label, items in _MENU.findall(code):
        pairs = sorted((float(v), name) for name, v in _MENU_ITEM.findall(items))
        menus[label.strip()] = [name for _, name in pairs]
    return menus


def _probe_vst(
    engine: Any, path: str, sweep: int, at: dict[str, list[float]], presets: list[str]
) -> dict:
    plugin = engine.make_plugin_processor("probe", path)
    size = plugin.get_plugin_parameter_size()
    described = plugin.get_parameters_description()
    rows = []
    points = [k / (sweep - 1) for k in range(sweep)]
    for i in range(size):
        d = described[i] if i < len(described) else {}
        default = float(plugin.get_parameter(i))
        texts = []
        for v in points:
            plugin.set_parameter(i, v)
            texts.append(plugin.get_parameter_text(i))
        plugin.set_parameter(i, default)
        name = str(d.get("name", f"param {i}"))
        steps = int(d.get("numSteps", 0) or 0)
        rows.append(
            {
                "index": i,
                "plugin_name": name,
                "label": name,
                "unit": d.get("label", ""),
                "default": default,
                "texts": texts,
                "discrete_hint": bool(d.get("isDiscrete")) and 2 < steps < 2**31 - 1,
            }
        )
    texts_at = {}
    for key, values in at.items():
        i = int(key)
        if 0 <= i < size:
            default = float(plugin.get_parameter(i))
            texts_at[key] = []
            for v in values:
                plugin.set_parameter(i, float(v))
                texts_at[key].append(plugin.get_parameter_text(i))
            plugin.set_parameter(i, default)
    return {"rows": rows, "texts_at": texts_at, "presets": _read_presets(plugin, size, presets)}


# How DawDreamer reads each kind of preset file; anything else is a saved plug-in state.
_LOADERS = {".fxp": "load_preset", ".fxb": "load_preset", ".vstpreset": "load_vst3_preset"}


def _read_presets(plugin: Any, size: int, paths: list[str]) -> list[dict]:
    """Each preset file loaded into the plug-in in turn: its parameter values, or the error."""
    out = []
    for path in paths:
        loader = getattr(plugin, _LOADERS.get(Path(path).suffix.lower(), "load_state"))
        try:
            ok = loader(path)
        except Exception as e:  # DawDreamer raises RuntimeError or plain Exception
            out.append({"error": f"{type(e).__name__}: {e}"})
            continue
        if ok is False:
            out.append({"error": f"{loader.__name__} returned False"})
            continue
        out.append({"values": [float(plugin.get_parameter(i)) for i in range(size)]})
    return out


def _probe_faust(engine: Any, path: str) -> dict:
    from data_gen.render.faust import compile_poly

    code = Path(path).read_text()
    processor, _ = compile_poly(engine, "probe", code, repr(path))
    menus = faust_menus(code)
    described = processor.get_parameters_description()
    # A slider's name is its address below the group all share ("/Polyphonic/Voices/<dsp>/"):
    # unique, and its group words ("Operator_1/Key_Scaling/...") inform the guess.
    prefix = os.path.commonpath([d["name"] for d in described]) if len(described) > 1 else ""
    rows = []
    for d in described:
        label = str(d.get("label") or d["name"].rsplit("/", 1)[-1])
        name = d["name"][len(prefix) :].strip("/") if prefix else label
        rows.append(
            {
                "index": int(d["index"]),
                "plugin_name": d["name"],
                "label": name,
                "address": d["name"],
                "min": float(d["min"]),
                "max": float(d["max"]),
                "step": float(d["step"]),
                "value": float(d["value"]),
                "discrete": bool(d.get("isDiscrete")),
                "labels": menus.get(label),
            }
        )
    return {"rows": rows, "texts_at": {}}


def _worker() -> None:
    request = json.loads(sys.stdin.read())
    import dawdreamer as daw

    from data_gen.render.sequence import quiet_stderr

    start = time.perf_counter()
    engine = daw.RenderEngine(44100, 512)
    with quiet_stderr():  # DawDreamer and plug-ins narrate every load
        if request["engine"] == "vst":
            answer = _probe_vst(
                engine, request["path"], request["sweep"], request["at"], request["presets"]
            )
        else:
            answer = _probe_faust(engine, request["path"])
    answer["seconds"] = time.perf_counter() - start
    sys.stdout.write(_MARK + json.dumps(answer) + "\n")
    sys.stdout.flush()


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
            [sys.executable, "-m", "data_gen.render.probe"],
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
        if line.startswith(_MARK) and proc.returncode == 0:
            return json.loads(line[len(_MARK) :])
    lines = [s for s in proc.stderr.splitlines() if s.strip()]
    last = lines[-1].strip() if lines else "no message"
    if proc.returncode < 0:
        raise ValueError(f"{path}: the plug-in crashed (signal {-proc.returncode})")
    raise ValueError(f"{path}: DawDreamer could not load it ({last})")


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


if __name__ == "__main__":
    _worker()
