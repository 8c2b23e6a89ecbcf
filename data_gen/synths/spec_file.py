"""Spec files: a `SynthSpec`'s own JSON (the one datasets embed) plus review marks, on disk.

A spec file is what `jaxproxy-data synth describe` writes and what `--synth path/to/x.json` reads.
Its `review` key (what was guessed and why, per parameter) is for people: `SynthSpec.from_json`
ignores it, so it never enters the spec's fingerprint, and editing a mark changes nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from data_gen.synths.spec import SynthSpec

SUFFIX = ".json"


def is_spec_file(synth: str) -> bool:
    """Whether a `--synth`/`synth=` value names a spec file rather than a registered synth."""
    return str(synth).endswith(SUFFIX)


def synth_name(synth: str) -> str:
    """The synth name a `--synth` value stands for: a spec file's spec name, else the value."""
    return load_spec_file(synth).name if is_spec_file(synth) else synth


def load_spec_file(path: str | os.PathLike) -> SynthSpec:
    """The spec in a spec file; ValueError naming the file and what is wrong with it."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"spec file {str(file)!r}: no such file")
    try:
        data = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"spec file {str(file)!r}: not readable JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("params"), list):
        raise ValueError(f"spec file {str(file)!r}: expected a JSON object with a 'params' list")
    try:
        return SynthSpec.from_json(data)
    except (KeyError, TypeError, ValueError) as e:
        detail = f"missing field {e}" if isinstance(e, KeyError) else str(e)
        raise ValueError(f"spec file {str(file)!r}: {detail}") from None


def spec_file_json(spec: SynthSpec, review: dict[str, Any]) -> dict[str, Any]:
    """The JSON of a spec file: the spec's own JSON plus the `review` section."""
    return {**spec.to_json(), "review": review}
