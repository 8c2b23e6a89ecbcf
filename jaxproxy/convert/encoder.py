"""A reference encoder state dict -> our workdir: config, synth spec, orbax checkpoint and export.

    python -m jaxproxy.convert checkpoint dexed_tfm_mn04_e27_mrr0.9537.ckpt --out runs/dexed_tfm

From a Lightning `.ckpt` (its `state_dict`, first prefix such as `preset_encoder.` or
`synth_proxy.` stripped) or a bare encoder state dict; finds the encoder (MLP-OH, HN-OH, HN-PT,
HN-PTGRU, TFM) and its sizes from the tensors, and the synth from the categorical layout the
tensors imply (so a Diva checkpoint with 24 `osc:noisevolmodsrc` categories maps to
`diva@paper_era`); `--synth` checks instead. The workdir is what training leaves: `jaxproxy
export --workdir=DIR --checkpoint=latest` and `jaxproxy evaluate --proxy=DIR/export` work on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from typing import Any

import ml_collections
import numpy as np
import optax

from jaxproxy import models
from jaxproxy.checkpointing import Checkpointer
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.convert import encoder_map
from jaxproxy.export import export_model
from jaxproxy.models.functional import split_model
from jaxproxy.models.layout import PresetLayout
from jaxproxy.run_files import write_run_files
from jaxproxy.train_state import init_state, proxy_optimizer

# Output size -> the audio model the paper's checkpoints regress (facts 3.1, 6.5, 9.6).
AUDIO_MODEL_BY_DIM = {192: "mn04", 320: "mn04_mel", 944: "mn20", 1072: "mn20_mel", 128: "mel128"}
CONVERSION_FILE = "conversion.json"
# The synths the reference's checkpoints can hold (dx7 shares Dexed's layout: name it with --synth).
REFERENCE_SYNTHS = ("dexed", "diva", "diva@paper_era", "diva@vca_fixed", "talnm")


def synth_spec_json(name: str) -> dict[str, Any]:
    from data_gen.synths.registry import get_spec

    return get_spec(name).to_json()


def detect_synth(encoder: str, sd: dict[str, np.ndarray], synth: str | None, source: str) -> str:
    """The paper synth whose layout the checkpoint's tensors imply (or check `synth`)."""
    facts = encoder_map.layout_facts(encoder, sd)
    names = [synth] if synth else REFERENCE_SYNTHS
    found = [
        n
        for n in names
        if encoder_map.layout_matches(PresetLayout.from_spec_json(synth_spec_json(n)), facts)
    ]
    if synth and not found:
        sizes = {k: v for k, v in facts.items() if k != "cat_offsets"}
        raise ValueError(
            f"{source}: its layout ({len(facts['cat_offsets'])} categorical parameters, {sizes}) "
            f"is not synth {synth!r}'s"
        )
    if len(found) != 1:
        raise ValueError(
            f"{source}: the layout matches {found or 'no registered synth'}; pass --synth"
        )
    return found[0]


def audio_model_for(out_dim: int, given: str | None, source: str) -> str:
    """`given`, else the audio model an encoder with `out_dim` outputs regresses."""
    audio_model = given or AUDIO_MODEL_BY_DIM.get(out_dim)
    if audio_model is None:
        raise ValueError(
            f"{source}: output size {out_dim} names no known audio model; pass --audio-model"
        )
    return audio_model


def _config(synth: str, encoder: str, audio_model: str, kwargs: dict[str, Any]):
    config = proxy_config.get_config(f"synth={synth},encoder={encoder},audio_model={audio_model}")
    hyperparameters = models.encoder_hyperparameters(encoder)
    changed = {k: v for k, v in kwargs.items() if hyperparameters[k] != v}
    with config.unlocked():
        config.encoder_kwargs = ml_collections.ConfigDict(changed)
        config.train_data = config.val_data = ""  # converted: no dataset of ours behind it
    return config


def write_encoder_workdir(
    sd: dict[str, np.ndarray],
    out_dir: str,
    *,
    source: str,
    prefix: str = "",
    synth: str | None = None,
    audio_model: str | None = None,
    num_heads: int = 8,
) -> dict[str, Any]:
    """Writes `out_dir` (config.json, synth_spec.json, data.json, checkpoints/, export/,
    conversion.json) atomically for an encoder state dict; returns the conversion facts."""
    encoder = encoder_map.detect_encoder(sd, source)
    synth = detect_synth(encoder, sd, synth, source)
    spec_json = synth_spec_json(synth)
    layout = PresetLayout.from_spec_json(spec_json)
    model, encoder, kwargs, out_dim = encoder_map.build_converted(
        sd, layout, num_heads=num_heads, source=source
    )
    audio_model = audio_model_for(out_dim, audio_model, source)
    config = _config(synth, encoder, audio_model, kwargs)
    facts = {
        "source": os.path.abspath(source),
        "prefix_stripped": prefix,
        "encoder": encoder,
        "encoder_kwargs": kwargs,
        "synth": synth,
        "embedding_dim": out_dim,
        "audio_model": audio_model,
        "num_keys": len(sd),
    }
    data_facts = {
        "embedding_dim": out_dim,
        "num_params": layout.n_used,
        "audio_model": {"name": audio_model, "embedding_dim": out_dim},
        "synth_fingerprint": _fingerprint(synth),
        "train_data": None,
        "converted_from": facts["source"],
    }
    tmp = out_dir.rstrip("/") + ".converting"
    with staging(tmp, out_dir):
        _write_workdir(tmp, model, config, spec_json, out_dim, data_facts, facts)
    facts["summary"] = (
        f"{encoder} for {synth} ({audio_model}, {len(sd)} keys) -> {out_dir} (export in "
        f"{out_dir}/export)"
    )
    return facts


@contextlib.contextmanager
def staging(tmp: str, out_dir: str) -> Iterator[None]:
    """Everything is written into `tmp`, which replaces `out_dir` only when all went well."""
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        yield
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)


def _write_workdir(tmp, model, config, spec_json, out_dim, data_facts, facts) -> None:
    write_run_files(tmp, config, spec_json, data_facts)
    with open(os.path.join(tmp, CONVERSION_FILE), "w") as f:
        json.dump(facts, f, indent=2, default=str)
    export_model(
        os.path.join(tmp, "export"),
        model,
        config=config.to_dict(),
        spec_json=spec_json,
        embedding_dim=out_dim,
    )
    _, params, batch_stats = split_model(model)
    tx = proxy_optimizer(config, optax.constant_schedule(config.lr))
    checkpointer = Checkpointer(os.path.join(tmp, "checkpoints"))
    checkpointer.save(0, init_state(params, batch_stats, tx))
    checkpointer.wait()
    checkpointer.close()


def _fingerprint(synth: str) -> str:
    from data_gen.synths.registry import get_spec

    return get_spec(synth).fingerprint()
