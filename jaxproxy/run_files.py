"""The files a training run writes into its workdir beside the checkpoints; exports read them.

`config.json` (the resolved config), `synth_spec.json` (the dataset's synth spec) and `data.json`
(the facts about the data the model is built from: embedding size, log-mel statistics, ...).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import jax

CONFIG_FILE, SPEC_FILE, DATA_FILE = "config.json", "synth_spec.json", "data.json"
CURVES_FILE = "curves.png"  # the training curves (+ curves.json, the points)


def write_run_files(
    workdir: str, config: Any, spec_json: Mapping[str, Any], facts: Mapping[str, Any]
) -> None:
    """Writes the three run files atomically (process 0 only)."""
    if jax.process_index() != 0:
        return
    for name, payload in (
        (CONFIG_FILE, config.to_dict()),
        (SPEC_FILE, spec_json),
        (DATA_FILE, dict(facts)),
    ):
        tmp = os.path.join(workdir, name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(payload, f, indent=2, default=str)
        os.replace(tmp, os.path.join(workdir, name))


def read_json(folder: str, name: str, what: str, where: str | None = None) -> Any:
    """`folder/name` parsed. FileNotFoundError "WHERE: NAME is missing; is it WHAT?" without it,
    ValueError "WHERE: NAME is not valid JSON (...)" for a damaged one; WHERE defaults to the
    folder (a CLI passes its flag, e.g. "--workdir runs/x")."""
    where = folder if where is None else where
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{where}: {name} is missing; is it {what}?")
    with open(path) as f:
        try:
            return json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{where}: {name} is not valid JSON ({e})") from e
