"""The probe's child process: DawDreamer loads one plug-in or Faust DSP and answers the request.

The request is JSON on stdin, the answer one `MARK` line of JSON on stdout. Kept apart from
`probe` so that asking for a probe imports no DawDreamer: only this process does.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from data_gen.render.probe import MARK

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
    sys.stdout.write(MARK + json.dumps(answer) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    _worker()
