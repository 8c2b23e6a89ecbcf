"""A reference dataset folder (facts 4.1 / 4.3) -> our dataset folder(s), the same examples.

    python -m jaxproxy.convert dataset data/datasets/diva_mn04_size=131072_seed=600_test_v1 \
        --out data/diva_mn04_test

The reference folder holds `configs.pkl` and pickled float32 tensors: `synth_parameters*.pkl`
(presets in the paper's format) and `audio_embeddings*.pkl`, either whole, as index-range subsets
`*_{start}_{end-1}.pkl` (joined here after a full-coverage check), or per split (`*_train.pkl`,
`*_test.pkl` of a hand-crafted set, each becoming `DST/train`, `DST/test`). Hand-crafted folders
may add `specgrams*.pkl` (dB log-mels, kept as the `mel` feature), `stats*.pkl` (kept in the
metadata as `mel_stats`) and `presets.json` / `removed_presets.json` (copied). Presets and
embeddings are copied bit for bit; `rms` is unknown (NaN). The synth spec comes from
`configs.pkl`'s synth and parameter count; for Diva, the category indices of
`osc:noisevolmodsrc` tell the released 24-category data (`diva@paper_era`) from the current code's
8 (facts 12.1, item 2). `configs.pkl` holds omegaconf containers (read as plain lists and dicts by
`torch_files`). The output is written by generation's own `DatasetWriter`, in ArrayRecord and
TFRecord by default (`--formats`), so TFDS data sources, grain and streaming training read it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.dataset import schema
from jaxproxy.convert import torch_files

_TENSORS = ("synth_parameters", "audio_embeddings")
_DIVA_DRIFT_PARAM = "osc:noisevolmodsrc"  # 24 categories in the released data, 8 in the code
_MIN_EXAMPLES_TO_TELL = 50  # with 24 categories, 50 draws all below 8 happen with p = 3^-50


def _load(path: Path, unsafe: bool) -> Any:
    return torch_files.torch_load(path, unsafe)


def _array(path: Path, unsafe: bool, ndim: int) -> np.ndarray:
    array = torch_files.to_numpy(_load(path, unsafe), str(path))
    if array.ndim != ndim or array.dtype != np.float32:
        raise ValueError(
            f"{path}: expected float32 with {ndim} dims, got {array.dtype} {array.shape}"
        )
    return array


def find_parts(src: Path) -> dict[str, dict[str, list[Path]]]:
    """{split suffix ("", "train", "test"): {tensor name: files in index order}}; subsets are
    used only when the whole file is absent, and must cover 0..N-1 without gaps."""
    parts: dict[str, dict[str, list[Path]]] = {}
    for name in _TENSORS:
        for split in ("", "train", "test"):
            whole = src / f"{name}{'_' + split if split else ''}.pkl"
            if whole.is_file():
                parts.setdefault(split, {})[name] = [whole]
        if "" not in parts or name not in parts[""]:
            subsets = []
            for path in src.glob(f"{name}_*_*.pkl"):
                m = re.fullmatch(rf"{name}_(\d+)_(\d+)\.pkl", path.name)
                if m:
                    subsets.append((int(m.group(1)), int(m.group(2)), path))
            if subsets:
                subsets.sort()
                expected = 0
                for start, last, path in subsets:
                    if start != expected:
                        raise ValueError(
                            f"{src}: {name} subsets do not cover the index range: {path.name} "
                            f"starts at {start}, expected {expected}"
                        )
                    expected = last + 1
                parts.setdefault("", {})[name] = [p for _, _, p in subsets]
    if not parts:
        raise ValueError(f"{src}: no synth_parameters*.pkl / audio_embeddings*.pkl found")
    for split, files in parts.items():
        missing = [n for n in _TENSORS if n not in files]
        if missing:
            raise ValueError(f"{src}: split {split or 'all'!r} lacks {missing[0]}*.pkl")
    return parts


def detect_spec_name(configs: dict[str, Any], presets_NxP: np.ndarray, source: str) -> str:
    """The synth variant the presets were made with (see the module docstring)."""
    from data_gen.synths.registry import get_spec

    base = str(configs.get("synth", ""))
    num_used = int(configs.get("num_used_params", presets_NxP.shape[1]))
    if base != "diva":
        candidates = [base]
    else:
        position = get_spec("diva").used_position(_DIVA_DRIFT_PARAM)
        column = presets_NxP[:, position]
        if np.any(column >= 8):
            candidates = ["diva@paper_era"]
        elif len(column) >= _MIN_EXAMPLES_TO_TELL:
            candidates = ["diva", "diva@vca_fixed"]
        else:
            raise ValueError(
                f"{source}: {len(column)} Diva examples cannot tell 8 from 24 categories of "
                f"{_DIVA_DRIFT_PARAM}; pass --synth diva or --synth diva@paper_era"
            )
    try:
        found = [n for n in candidates if get_spec(n).num_used == num_used]
    except ValueError as err:
        raise ValueError(f"{source}: configs.pkl synth {base!r}: {err}") from None
    if not found:
        raise ValueError(
            f"{source}: configs.pkl says {num_used} used parameters; synth {base!r} has "
            f"{get_spec(candidates[0]).num_used}"
        )
    return found[0]


def _render_json(configs: dict[str, Any]) -> dict[str, Any]:
    from data_gen.render.settings import RenderSettings

    fields = {
        "sample_rate": "sample_rate",
        "midi_note": "midi_note",
        "velocity": "midi_velocity",
        "note_duration": "midi_duration_in_sec",
        "render_duration": "render_duration_in_sec",
    }
    given = {ours: configs[theirs] for ours, theirs in fields.items() if theirs in configs}
    return RenderSettings(**given).to_json()


def _mel(src: Path, split: str, n: int, unsafe: bool) -> tuple[np.ndarray | None, dict | None]:
    suffix = f"_{split}" if split else ""
    path = src / f"specgrams{suffix}.pkl"
    if not path.is_file():
        return None, None
    mel = torch_files.to_numpy(_load(path, unsafe), str(path)).astype(np.float32)
    if mel.ndim == 4 and mel.shape[1] == 1:  # (N, 1, mels, frames): the channel axis
        mel = mel[:, 0]
    if len(mel) != n or mel.ndim != 3:
        raise ValueError(f"{path}: expected {n} log-mels (N, mels, frames), got {mel.shape}")
    stats_path = src / f"stats{suffix}.pkl"
    stats = None
    if stats_path.is_file():
        raw = _load(stats_path, unsafe)
        stats = {
            k: float(np.asarray(torch_files.to_numpy(v, f"{stats_path}: {k}")))
            for k, v in raw.items()
        }
    return mel, stats


def _split_name(src: Path, split: str) -> str:
    if split:
        return split
    tags = re.findall(r"(train|val|test|eval)", src.name)
    return tags[-1] if tags else "all"


def convert_dataset(
    src: str | os.PathLike,
    out: str | os.PathLike,
    *,
    synth: str | None = None,
    unsafe_pickle: bool = False,
    shard_size: int = 4096,
    formats: Sequence[str] = schema.DEFAULT_FORMATS,
) -> dict[str, Any]:
    """Writes our dataset(s) for the reference folder `src` in `formats` (the shards of each
    hold the same records: ArrayRecord for grain and TFDS data sources, TFRecord for tf.data);
    returns a report. Everything is read and checked before anything is written."""
    from data_gen.synths.registry import get_spec

    src, out = Path(src), Path(out)
    schema.check_formats(formats)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"--out {out}: exists and is not an empty folder (expected a new one)")
    if not (src / "configs.pkl").is_file():
        raise FileNotFoundError(
            f"{src}/configs.pkl not found: is {src} a reference dataset folder?"
        )
    configs = _load(src / "configs.pkl", unsafe_pickle)
    if not isinstance(configs, dict):
        raise ValueError(f"{src}/configs.pkl: expected a dict, got {type(configs).__name__}")
    parts = find_parts(src)
    loaded = {
        split: {
            n: np.concatenate([_array(p, unsafe_pickle, 2) for p in files[n]]) for n in _TENSORS
        }
        for split, files in parts.items()
    }
    all_presets = np.concatenate([v["synth_parameters"] for v in loaded.values()])
    name = synth or detect_spec_name(configs, all_presets, str(src))
    spec = get_spec(name)
    audio_fe = str(configs.get("audio_fe", "unknown"))
    report: dict[str, Any] = {"synth": name, "audio_model": audio_fe, "splits": {}}
    checked = {}  # every split is checked before anything is written
    for split, tensors in loaded.items():
        presets, emb = tensors["synth_parameters"], tensors["audio_embeddings"]
        where = f"{src} ({split or 'all'})"
        if len(presets) != len(emb):
            raise ValueError(f"{where}: {len(presets)} presets but {len(emb)} embeddings")
        try:
            spec.check_presets(presets)
        except ValueError as err:
            raise ValueError(f"{where}: synth_parameters are not {name} presets: {err}") from None
        dim = int(configs.get("num_outputs", emb.shape[1]))
        if emb.shape[1] != dim:
            raise ValueError(
                f"{where}: audio_embeddings have {emb.shape[1]} dims, configs.pkl {dim}"
            )
        checked[split] = (presets, emb, *_mel(src, split, len(presets), unsafe_pickle))
    for split, (presets, emb, mel, stats) in checked.items():
        dst = out / split if len(loaded) > 1 else out
        _write(dst, spec, configs, audio_fe, split, presets, emb, mel, stats, src,
               shard_size=shard_size, formats=formats)  # fmt: skip
        for extra in ("presets.json", "removed_presets.json"):
            if (src / extra).is_file():
                shutil.copyfile(src / extra, dst / f"reference_{extra}")
        report["splits"][_split_name(src, split)] = {
            "folder": str(dst),
            "num_examples": len(presets),
        }
    sizes = ", ".join(f"{k} {v['num_examples']}" for k, v in report["splits"].items())
    report["summary"] = f"{name} ({audio_fe}): {sizes} examples"
    return report


def _write(dst, spec, configs, audio_fe, split, presets, emb, mel, stats, src, *, shard_size,
           formats) -> None:  # fmt: skip
    from data_gen.dataset.writer import DatasetWriter

    n = len(presets)
    extras = {"mel": mel.shape[1:]} if mel is not None else {}
    render = _render_json(configs)
    meta = schema.build_metadata(
        synth=spec.to_json(),
        synth_fingerprint=spec.fingerprint(),
        render=render,
        audio_model={
            "name": audio_fe,
            "embedding_dim": int(emb.shape[1]),
            "sample_rate": int(render["sample_rate"]),
            "version": f"{audio_fe}:reference-pickle",
        },
        seed=int(configs.get("seed_offset", 0) or 0),
        split=_split_name(src, split),
        features=schema.make_features(spec.num_used, emb.shape[1], extras),
        index_start=0,
        index_end=n,
        dataset_size=n,
        formats=formats,
        shard_size=shard_size,
        created_by="jaxproxy.convert dataset",
        extra={
            "converted_from": str(src.resolve()),
            "reference_configs": {k: _plain(v) for k, v in configs.items()},
            "rms_unknown": True,
            **({"mel_stats": stats} if stats else {}),
        },
    )
    writer = DatasetWriter(dst, meta)
    try:
        for lo in range(0, n, shard_size):
            hi = min(lo + shard_size, n)
            batch = {
                "params": presets[lo:hi],
                "embedding": emb[lo:hi],
                "rms": np.full(hi - lo, np.nan, np.float32),
                "index": np.arange(lo, hi, dtype=np.int64),
            }
            if mel is not None:
                batch["mel"] = mel[lo:hi]
            writer.write_batch(batch)
    except BaseException:
        writer.abort()
        raise
    writer.close()


def _plain(value: Any) -> Any:
    """configs.pkl values as JSON (tensors and tuples become lists)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
