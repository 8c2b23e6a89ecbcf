"""Imported presets as named raw [0, 1] parameter values, and their JSON file.

This is the reference's hand-crafted input (facts 8.1): one entry per preset, mapping spec
parameter names to the raw values the renderer receives. Vectors are made from it by
`data_gen.presets.processing`, which knows the spec's layout.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from data_gen.presets.errors import PresetFileError

PRESETS_FORMAT = "jaxproxy-presets"
PRESETS_VERSION = 1


@dataclasses.dataclass(frozen=True)
class ImportedPreset:
    """One hand-crafted preset: its name, where it came from, and raw values by parameter name."""

    name: str
    source: str  # "file#k": the file and the preset's 1-based position in it
    parameters: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "parameters": dict(self.parameters)}


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write JSON through a temporary file, so a failure never leaves half a file behind."""
    write_bytes_atomic(path, json.dumps(data, indent=1).encode())


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write bytes through a temporary file (same guarantee as `write_json_atomic`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_current_umask())  # mkstemp makes 0600; honour the umask instead
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _current_umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it; restored at once
    os.umask(mask)
    return mask


def save_presets(path: str | Path, synth: str, presets: Sequence[ImportedPreset]) -> None:
    write_json_atomic(
        path,
        {
            "format": PRESETS_FORMAT,
            "version": PRESETS_VERSION,
            "synth": synth,
            "presets": [p.to_json() for p in presets],
        },
    )


def load_presets(path: str | Path) -> tuple[str, list[ImportedPreset]]:
    """(synth name, presets) of a file written by `save_presets`."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise PresetFileError(str(path), f"cannot read presets JSON: {err}") from err
    if not isinstance(data, dict) or data.get("format") != PRESETS_FORMAT:
        raise PresetFileError(str(path), f"not a {PRESETS_FORMAT} file")
    if data.get("version") != PRESETS_VERSION:
        raise PresetFileError(
            str(path), f"version {data.get('version')!r} is not {PRESETS_VERSION}"
        )
    try:
        synth = str(data["synth"])
        presets = [
            ImportedPreset(
                str(p["name"]),
                str(p["source"]),
                {str(k): float(v) for k, v in p["parameters"].items()},
            )
            for p in data["presets"]
        ]
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as err:
        raise PresetFileError(str(path), f"malformed preset entry: {err!r}") from err
    return synth, presets
