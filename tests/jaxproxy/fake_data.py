"""Test-only: tiny synthetic datasets written by data_gen's own writer (no torch needed)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np

from data_gen.dataset import checks, schema
from data_gen.dataset.writer import DatasetWriter


def fake_param(name: str, kind: str, index: int, values: Sequence[float] | None = None) -> dict:
    """One parameter entry in the synth spec JSON form."""
    values = list(values) if values is not None else None
    return {
        "name": name,
        "kind": kind,
        "index": index,
        "address": None,
        "cardinality": len(values) if values else -1,
        "values": values,
        "weights": [1.0 / len(values)] * len(values) if values else None,
        "interval": [0.0, 1.0],
        "default": 0.0,
        "used": True,
        "labels": None,
    }


def fake_synth_json(num_params: int = 5) -> dict:
    """A synth of 2 continuous, 1 binary, 2 categorical (3 and 4 values), then continuous ones."""
    if num_params < 5:
        raise ValueError(f"fake synths have at least 5 parameters, got {num_params}")
    params = [
        fake_param("cutoff", "num", 0),
        fake_param("resonance", "num", 1),
        fake_param("sync", "bin", 2, [0.0, 1.0]),
        fake_param("wave", "cat", 3, [0.0, 0.5, 1.0]),
        fake_param("lfo_shape", "cat", 4, [0.0, 0.333, 0.667, 1.0]),
    ] + [fake_param(f"extra{i}", "num", i) for i in range(5, num_params)]
    return {
        "format_version": 1,
        "name": "fakesynth",
        "engine": "faust",
        "source": "fake.dsp",
        "description": "test-only",
        "notes": [],
        "params": params,
    }


def fake_arrays(
    num_examples: int, embedding_dim: int, seed: int = 0, num_params: int = 5
) -> dict[str, np.ndarray]:
    """Random features matching `fake_synth_json(num_params)`, with index = position."""
    rng = np.random.default_rng(seed)
    params = rng.random((num_examples, num_params), dtype=np.float32)
    params[:, 2] = rng.integers(0, 2, num_examples)
    params[:, 3] = rng.integers(0, 3, num_examples)
    params[:, 4] = rng.integers(0, 4, num_examples)
    return {
        "params": params,
        "embedding": rng.standard_normal((num_examples, embedding_dim), dtype=np.float32),
        "rms": rng.random(num_examples, dtype=np.float32),
        "index": np.arange(num_examples, dtype=np.int64),
    }


def write_fake_dataset(
    folder: str | os.PathLike,
    *,
    num_examples: int = 96,
    embedding_dim: int = 8,
    num_params: int = 5,
    formats: Sequence[str] = ("array_record", "tfrecord"),
    num_shards: int = 2,
    split: str = "train",
    audio_model: str = "fake",
    seed: int = 0,
    arrays: dict[str, np.ndarray] | None = None,
    synth: dict | None = None,
) -> dict[str, np.ndarray]:
    """Writes a complete dataset folder with data_gen's writer; returns its arrays in order
    (`synth`: another spec JSON, e.g. a renderable one, instead of the fake synth)."""
    if arrays is None:
        arrays = fake_arrays(num_examples, embedding_dim, seed, num_params)
    num_params, embedding_dim = arrays["params"].shape[1], arrays["embedding"].shape[1]
    num_examples = len(arrays["params"])
    synth = synth or fake_synth_json(num_params)
    extras = {
        n: a.shape[1:]
        for n, a in arrays.items()
        if n not in ("params", "embedding", "rms", "index")
    }
    meta = schema.build_metadata(
        synth=synth, synth_fingerprint=checks.spec_fingerprint(synth, "fake"),
        render={"sample_rate": 32000},
        audio_model={"name": audio_model, "embedding_dim": embedding_dim, "sample_rate": 32000,
                     "version": "0"},
        seed=seed, split=split, features=schema.make_features(num_params, embedding_dim, extras),
        index_start=0, index_end=num_examples, dataset_size=num_examples, formats=formats,
        shard_size=-(-num_examples // num_shards), created_by="tests/jaxproxy/fake_data.py",
    )  # fmt: skip
    writer = DatasetWriter(folder, meta)
    writer.write_batch(arrays)
    writer.close()
    return arrays


def edit_metadata(folder: str | os.PathLike, **changes) -> None:
    """Rewrites fields of an existing metadata.json (to test refusals)."""
    path = os.path.join(os.fspath(folder), schema.METADATA_FILE)
    with open(path) as f:
        meta = json.load(f)
    meta.update(changes)
    with open(path, "w") as f:
        json.dump(meta, f)
