"""A reference encoder checkpoint -> our workdir: config, synth spec, orbax checkpoint and export.

    python -m jaxproxy.convert checkpoint dexed_tfm_mn04_e27_mrr0.9537.ckpt --out runs/dexed_tfm

Reads a Lightning `.ckpt` (its `state_dict`, first prefix such as `preset_encoder.` or
`synth_proxy.` stripped) or a bare encoder state dict; finds the encoder (MLP-OH, HN-OH, HN-PT,
HN-PTGRU, TFM) and its sizes from the tensors, and the synth from the categorical layout the
tensors imply (so a Diva checkpoint with 24 `osc:noisevolmodsrc` categories maps to
`diva@paper_era`); `--synth` checks instead. The workdir is what training leaves: `jaxproxy
export --workdir=DIR --checkpoint=latest` and `jaxproxy evaluate --proxy=DIR/export` work on it.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

import ml_collections
import numpy as np
import optax

from jaxproxy import models
from jaxproxy.checkpointing import Checkpointer
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.convert import encoder_map
from jaxproxy.export import export_model
from jaxproxy.models.layout import PresetLayout
from jaxproxy.trainers import proxy, proxy_step

# Output size -> the audio model the paper's checkpoints regress (facts 3.1, 6.5, 9.6).
AUDIO_MODEL_BY_DIM = {192: "mn04", 320: "mn04_mel", 944: "mn20", 1072: "mn20_mel", 128: "mel128"}
CONVERSION_FILE = "conversion.json"
# The synths the reference's checkpoints can hold (dx7 shares Dexed's layout: name it with --synth).
REFERENCE_SYNTHS = ("dexed", "diva", "diva@paper_era", "diva@vca_fixed", "talnm")


def _spec_json(name: str) -> dict[str, Any]:
    from data_gen.synths.registry import get_spec

    return get_spec(name).to_json()


def detect_synth(encoder: str, sd: dict[str, np.ndarray], synth: str | None, source: str) -> str:
    """The paper synth whose layout the checkpoint's tensors imply (or check `synth`)."""
    facts = encoder_map.layout_facts(encoder, sd)
    names = [synth] if synth else REFERENCE_SYNTHS
    found = [
        n
        for n in names
        if encoder_map.layout_matches(PresetLayout.from_spec_json(_spec_json(n)), facts)
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


def _config(synth: str, encoder: str, audio_model: str, kwargs: dict[str, Any]):
    config = proxy_config.get_config(f"synth={synth},encoder={encoder},audio_model={audio_model}")
    hyperparameters = models.encoder_hyperparameters(encoder)
    changed = {k: v for k, v in kwargs.items() if hyperparameters[k] != v}
    with config.unlocked():
        config.encoder_kwargs = ml_collections.ConfigDict(changed)
        config.train_data = config.val_data = ""  # converted: no dataset of ours behind it
    return config


def convert_checkpoint(
    ckpt: str,
    out_dir: str,
    *,
    synth: str | None = None,
    audio_model: str | None = None,
    num_heads: int = 8,
    unsafe_pickle: bool = False,
) -> dict[str, Any]:
    """Writes `out_dir` (config.json, synth_spec.json, data.json, checkpoints/, export/,
    conversion.json) atomically; returns the conversion facts."""
    from jaxproxy.convert import torch_files

    sd, prefix = torch_files.encoder_state_dict(torch_files.torch_load(ckpt, unsafe_pickle), ckpt)
    encoder = encoder_map.detect_encoder(sd, ckpt)
    synth = detect_synth(encoder, sd, synth, ckpt)
    spec_json = _spec_json(synth)
    layout = PresetLayout.from_spec_json(spec_json)
    model, encoder, kwargs, out_dim = encoder_map.build_converted(
        sd, layout, num_heads=num_heads, source=ckpt
    )
    audio_model = audio_model or AUDIO_MODEL_BY_DIM.get(out_dim)
    if audio_model is None:
        raise ValueError(
            f"{ckpt}: output size {out_dim} names no known audio model; pass --audio-model"
        )
    config = _config(synth, encoder, audio_model, kwargs)
    facts = {
        "source": os.path.abspath(ckpt),
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
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name, payload in (
        (proxy.CONFIG_FILE, config.to_dict()),
        (proxy.SPEC_FILE, spec_json),
        (proxy.DATA_FILE, data_facts),
        (CONVERSION_FILE, facts),
    ):
        with open(os.path.join(tmp, name), "w") as f:
            json.dump(payload, f, indent=2, default=str)
    export_model(
        os.path.join(tmp, "export"),
        model,
        config=config.to_dict(),
        spec_json=spec_json,
        embedding_dim=out_dim,
    )
    _, params, batch_stats = proxy_step.split_model(model)
    tx = proxy_step.make_optimizer(config, optax.constant_schedule(config.lr))
    checkpointer = Checkpointer(os.path.join(tmp, "checkpoints"))
    checkpointer.save(0, proxy_step.init_state(params, batch_stats, tx))
    checkpointer.wait()
    checkpointer.close()
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return facts


def _fingerprint(synth: str) -> str:
    from data_gen.synths.registry import get_spec

    return get_spec(synth).fingerprint()
