"""A folder of sound-matching targets: `targets.json` (who is who) + `audio.npy` (the clips).

Written by the out-of-domain builders (GM notes, NSynth), read by the evaluation (numpy only, so
the JAX side reads it too). The folder is written under a temporary name and renamed when
complete: a crash leaves no half-written set behind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

TARGETS_FILE = "targets.json"
AUDIO_FILE = "audio.npy"
FORMAT_VERSION = 1
MIN_RMS = 1e-3  # a target quieter than this (-60 dBFS RMS) is dropped: nothing to match


@dataclasses.dataclass
class TargetSet:
    """Target clips float32[N, S] at `sample_rate`, one metadata dict per clip (`name`, `pitch`,
    ...), the source description, and what was dropped and why."""

    kind: str
    sample_rate: int
    audio: np.ndarray
    targets: list[dict[str, Any]]
    source: dict[str, Any]
    dropped: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [t["name"] for t in self.targets]

    def __len__(self) -> int:
        return len(self.targets)

    def subset(self, indices: np.ndarray) -> TargetSet:
        indices = np.asarray(indices, np.int64)
        return dataclasses.replace(
            self, audio=self.audio[indices], targets=[self.targets[i] for i in indices]
        )


def drop_quiet(
    audio_NxS: np.ndarray, targets: list[dict[str, Any]], min_rms: float = MIN_RMS
) -> tuple[np.ndarray, list[dict[str, Any]], list[dict[str, Any]]]:
    """Keeps the clips with RMS >= `min_rms`; each target gets its `rms`; returns the dropped."""
    rms_N = np.sqrt(np.mean(np.square(audio_NxS, dtype=np.float64), axis=1))
    for target, rms in zip(targets, rms_N, strict=True):
        target["rms"] = round(float(rms), 6)
    keep = rms_N >= min_rms
    dropped = [{**targets[i], "reason": f"RMS below {min_rms:g}"} for i in np.flatnonzero(~keep)]
    return audio_NxS[keep], [targets[i] for i in np.flatnonzero(keep)], dropped


def save_target_set(folder: str | Path, target_set: TargetSet) -> Path:
    """Writes the set to `folder` (refusing to overwrite a different folder's content)."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not (folder / TARGETS_FILE).is_file():
        raise FileExistsError(f"{folder} exists and is not a target set: choose another --out")
    audio = np.asarray(target_set.audio, np.float32)
    if audio.ndim != 2 or audio.shape[0] != len(target_set.targets):
        raise ValueError(f"{len(target_set.targets)} targets but audio of shape {audio.shape}")
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": target_set.kind,
        "sample_rate": target_set.sample_rate,
        "num_samples": int(audio.shape[1]),
        "num_targets": len(target_set.targets),
        "source": target_set.source,
        "targets": target_set.targets,
        "dropped": target_set.dropped,
    }
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        np.save(tmp / AUDIO_FILE, audio)
        (tmp / TARGETS_FILE).write_text(json.dumps(meta, indent=1))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def load_target_set(folder: str | Path) -> TargetSet:
    """Reads a folder written by `save_target_set`; a wrong folder gets a message naming it."""
    folder = Path(folder)
    meta_path = folder / TARGETS_FILE
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{folder} is not a target set: no {TARGETS_FILE} (build one with "
            "`python -m data_gen.ood gm|nsynth --out ...`)"
        ) from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{meta_path}: not valid JSON ({err})") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{meta_path}: format_version {meta.get('format_version')!r}, expected {FORMAT_VERSION}"
        )
    audio = np.load(folder / AUDIO_FILE)
    if audio.shape != (meta["num_targets"], meta["num_samples"]):
        raise ValueError(
            f"{folder / AUDIO_FILE}: shape {audio.shape}, metadata says "
            f"({meta['num_targets']}, {meta['num_samples']})"
        )
    return TargetSet(
        meta["kind"], meta["sample_rate"], audio, meta["targets"], meta["source"], meta["dropped"]
    )
