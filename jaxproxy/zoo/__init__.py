"""The shipped models: a proxy and an estimator per synth, installed with the package.

Each entry is a folder `jaxproxy/zoo/<synth>/` written by `python -m experiments.zoo`: `proxy/`
(a `jaxproxy export` folder), `estimator/` (a `jaxproxy.export_estimator` folder) and
`zoo.json` (the figures, the exact command, wall time and load). Reading an entry imports
nothing but the standard library; loading its models goes through the export loaders, which
import nothing that trains.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

ZOO_DIR = Path(__file__).resolve().parent
PROXY, ESTIMATOR, ENTRY_FILE = "proxy", "estimator", "zoo.json"


class Entry(NamedTuple):
    """One shipped synth: its folder and its zoo.json."""

    folder: Path
    info: dict[str, Any]

    @property
    def synth(self) -> str:
        return self.info["synth"]

    @property
    def proxy(self) -> Path:
        return self.folder / PROXY

    @property
    def estimator(self) -> Path:
        return self.folder / ESTIMATOR


def entries(root: Path = ZOO_DIR) -> list[Entry]:
    """Every shipped entry under `root`, by synth name."""
    found = []
    for path in sorted(root.glob(f"*/{ENTRY_FILE}")):
        found.append(Entry(path.parent, json.loads(path.read_text())))
    return found


def entry(synth: str, root: Path = ZOO_DIR) -> Entry:
    """The shipped entry of `synth`; ValueError naming the shipped synths if there is none."""
    shipped = {e.synth: e for e in entries(root)}
    if synth not in shipped:
        names = ", ".join(shipped) or "none"
        raise ValueError(f"no shipped model for synth {synth!r} (shipped: {names}; "
                         "python -m experiments.zoo --synth SYNTH trains one)")  # fmt: skip
    return shipped[synth]
