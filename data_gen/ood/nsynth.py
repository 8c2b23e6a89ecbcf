"""NSynth as out-of-domain targets: `examples.json` + `audio/<note_str>.wav`, prepared as 9.7.

Facts 9.7: each 16 kHz, 4 s note is zero-padded to 5 s and resampled to the metric rate (32 kHz);
the reference evaluates the whole `valid` subset (all pitches) and exports 4 examples per
instrument family over pitches 49-73 (seed 999). Filters here: families, sources, a pitch range,
velocities, and an optional number per family (a seeded draw).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.audio.audio_file import AudioFileError, load_clip
from data_gen.ood.target_set import TargetSet, drop_quiet

NSYNTH_RATE = 16000
NSYNTH_SECONDS = 4.0


def read_examples(root: str | Path) -> dict[str, dict[str, Any]]:
    """`examples.json` of an NSynth subset folder (note_str -> its annotations)."""
    path = Path(root) / "examples.json"
    try:
        examples = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} not found: pass an NSynth subset folder (e.g. nsynth-valid) holding "
            "examples.json and audio/"
        ) from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(examples, dict):
        raise ValueError(f"{path}: expected an object of note_str -> annotations")
    for key, ex in examples.items():
        missing = [f for f in ("pitch", "velocity", "instrument_family_str") if f not in ex]
        if missing:
            raise ValueError(f"{path}: example {key!r} lacks {missing}")
    return examples


def select(
    examples: dict[str, dict[str, Any]],
    *,
    families: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    pitch_range: tuple[int, int] | None = None,
    velocities: Sequence[int] | None = None,
    per_family: int | None = None,
    seed: int = 999,
) -> list[str]:
    """The note_strs passing every filter, sorted; with `per_family`, that many of each family
    drawn with `seed`."""
    keys = []
    for key, ex in sorted(examples.items()):
        if families and ex["instrument_family_str"] not in families:
            continue
        if sources and ex.get("instrument_source_str") not in sources:
            continue
        if pitch_range and not pitch_range[0] <= ex["pitch"] <= pitch_range[1]:
            continue
        if velocities and ex["velocity"] not in velocities:
            continue
        keys.append(key)
    if per_family is None:
        return keys
    rng = np.random.default_rng(seed)
    chosen = []
    for family in sorted({examples[k]["instrument_family_str"] for k in keys}):
        members = [k for k in keys if examples[k]["instrument_family_str"] == family]
        take = rng.choice(len(members), min(per_family, len(members)), replace=False)
        chosen += [members[i] for i in sorted(take)]
    return chosen


def load_nsynth(
    root: str | Path, keys: Sequence[str], sample_rate: int = 32000, seconds: float = 5.0
) -> TargetSet:
    """The selected notes as a `TargetSet`: 4 s at 16 kHz zero-padded to `seconds`, resampled
    to `sample_rate` (soxr); unreadable or quiet files are dropped and listed."""
    root = Path(root)
    examples = read_examples(root)
    num_samples = round(seconds * sample_rate)
    clips, targets, dropped = [], [], []
    for key in keys:
        ex = examples[key]
        info = {
            "name": key,
            "pitch": int(ex["pitch"]),
            "velocity": int(ex["velocity"]),
            "family": ex["instrument_family_str"],
            "source": ex.get("instrument_source_str"),
        }
        path = root / "audio" / f"{key}.wav"
        try:
            clip = load_clip(path, sample_rate, num_samples, fade_seconds=0.0)
        except AudioFileError as err:
            dropped.append({**info, "reason": err.problem})
            continue
        if clip.source_rate != NSYNTH_RATE:
            dropped.append({**info, "reason": f"sample rate {clip.source_rate}, not 16000"})
            continue
        clips.append(clip.audio)
        targets.append(info)
    audio = np.stack(clips) if clips else np.zeros((0, num_samples), np.float32)
    audio, targets, quiet = drop_quiet(audio, targets)
    source = {"root": str(root), "selected": len(keys), "resampler": "soxr VHQ"}
    return TargetSet("nsynth", sample_rate, audio, targets, source, dropped + quiet)
