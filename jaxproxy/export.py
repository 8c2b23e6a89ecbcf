"""Export a trained proxy to a self-describing folder, and load it back as a jittable function.

The folder holds `weights.npz` (parameters and BatchNorm statistics as a plain array dict),
`config.json`, `synth_spec.json`, `proxy.json` (dimensions) and `encode.jaxexport`, a
`jax.export` serialization of `encode(weights, presets_BxP) -> emb_BxE` with a symbolic batch
size and first-order derivatives. Loading needs neither the encoder code nor the config:

  python -m jaxproxy.export --workdir=runs/dx7_tfm --out=exports/dx7_tfm --checkpoint=best_mrr
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import app, flags
from flax import nnx

from jaxproxy import models
from jaxproxy.checkpointing import Checkpointer, abstract_like
from jaxproxy.logs import setup_cli_logging
from jaxproxy.models.layout import PresetLayout
from jaxproxy.trainers import proxy, proxy_step

WEIGHTS_FILE, FUNCTION_FILE, INFO_FILE = "weights.npz", "encode.jaxexport", "proxy.json"
CONFIG_FILE, SPEC_FILE = "config.json", "synth_spec.json"
_PLATFORMS = ("cpu", "cuda", "rocm", "tpu")


def _flat_weights(tree: Any) -> tuple[dict[str, np.ndarray], Any]:
    """({"params/...": array, "batch_stats/...": array}, treedef) of {params, batch_stats}."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    names = [jax.tree_util.keystr(path, simple=True, separator="/") for path, _ in leaves]
    return {n: np.asarray(x) for n, (_, x) in zip(names, leaves, strict=True)}, treedef


def export_model(
    out_dir: str,
    model: Any,
    *,
    config: Mapping[str, Any],
    spec_json: Mapping[str, Any],
    embedding_dim: int,
) -> str:
    """Writes the export folder for a live NNX encoder (exported in eval mode); returns its path."""
    model_def, params, batch_stats = proxy_step.split_model(model)
    encode_state = proxy_step.make_encode(model_def)
    weights, treedef = _flat_weights({"params": params, "batch_stats": batch_stats})
    names = list(weights)

    def encode(weights_by_name: dict[str, jax.Array], presets_BxP: jax.Array) -> jax.Array:
        tree = jax.tree_util.tree_unflatten(treedef, [weights_by_name[n] for n in names])
        return encode_state(tree["params"], tree["batch_stats"], presets_BxP)

    num_params = models.count_params(model)
    (batch,) = jax.export.symbolic_shape("batch")
    presets_spec = jax.ShapeDtypeStruct((batch, spec_num_used(spec_json)), jnp.float32)
    weight_specs = {n: jax.ShapeDtypeStruct(w.shape, w.dtype) for n, w in weights.items()}
    try:
        exported = jax.export.export(jax.jit(encode), platforms=_PLATFORMS)(
            weight_specs, presets_spec
        )
    except Exception:  # a jaxlib without some platform's lowering rules: this platform only
        exported = jax.export.export(jax.jit(encode))(weight_specs, presets_spec)

    tmp = out_dir.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    np.savez(os.path.join(tmp, WEIGHTS_FILE), **weights)
    with open(os.path.join(tmp, FUNCTION_FILE), "wb") as f:
        f.write(exported.serialize(vjp_order=1))
    info = {
        "format_version": 1,
        "encoder": config.get("encoder"),
        "synth": spec_json.get("name"),
        "num_used_params": spec_num_used(spec_json),
        "embedding_dim": int(embedding_dim),
        "num_trainable_params": num_params,
        "platforms": list(exported.platforms),
    }
    for name, payload in ((CONFIG_FILE, dict(config)), (SPEC_FILE, spec_json), (INFO_FILE, info)):
        with open(os.path.join(tmp, name), "w") as f:
            json.dump(payload, f, indent=2, default=str)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)  # the folder appears complete or not at all
    return out_dir


def spec_num_used(spec_json: Mapping[str, Any]) -> int:
    return PresetLayout.from_spec_json(spec_json).n_used


def export_from_workdir(workdir: str, out_dir: str, checkpoint: str = "best_mrr") -> str:
    """Exports the `checkpoint` ("best_mrr", "best_l1" or "latest") of a training run."""

    def read(name):
        path = os.path.join(workdir, name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} is missing: is {workdir} a proxy training workdir?")
        with open(path) as f:
            return json.load(f)

    config = ml_collections.ConfigDict(read(proxy.CONFIG_FILE))
    spec_json, data_facts = read(proxy.SPEC_FILE), read(proxy.DATA_FILE)
    layout = PresetLayout.from_spec_json(spec_json)
    model = proxy.build_model(config, layout, data_facts["embedding_dim"])
    _, params, batch_stats = proxy_step.split_model(model)
    # Only the structure of the optimizer state matters for restoring; the schedule does not.
    tx = proxy_step.make_optimizer(config, optax.constant_schedule(config.lr))
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"))
    restored = ckpt.restore(
        abstract_like(proxy_step.init_state(params, batch_stats, tx)), checkpoint
    )
    ckpt.close()
    if restored is None:
        raise FileNotFoundError(f"{workdir}/checkpoints/{checkpoint} holds no checkpoint to export")
    state = restored[0]
    nnx.update(model, state.params, state.batch_stats)
    return export_model(
        out_dir,
        model,
        config=config.to_dict(),
        spec_json=spec_json,
        embedding_dim=data_facts["embedding_dim"],
    )


class Proxy:
    """A loaded proxy: `proxy(presets_BxP) -> emb_BxE`, usable under jit, grad and vmap.

    Attributes:
      weights: the plain array dict (jax arrays) the function is applied with.
      info, config, spec_json: the export's JSON files.
    """

    def __init__(self, folder: str):
        self.folder = folder
        paths = {n: os.path.join(folder, n) for n in (WEIGHTS_FILE, FUNCTION_FILE, INFO_FILE)}
        for path in paths.values():
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{path} is missing: is {folder} a jaxproxy export?")
        with open(paths[INFO_FILE]) as f:
            self.info = json.load(f)
        with open(os.path.join(folder, CONFIG_FILE)) as f:
            self.config = json.load(f)
        with open(os.path.join(folder, SPEC_FILE)) as f:
            self.spec_json = json.load(f)
        with np.load(paths[WEIGHTS_FILE]) as npz:
            self.weights = {name: jnp.asarray(npz[name]) for name in npz.files}
        with open(paths[FUNCTION_FILE], "rb") as f:
            self._exported = jax.export.deserialize(bytearray(f.read()))

    @property
    def num_params(self) -> int:
        """P, the preset vector length the proxy expects."""
        return int(self.info["num_used_params"])

    @property
    def embedding_dim(self) -> int:
        return int(self.info["embedding_dim"])

    def apply(self, weights: Mapping[str, jax.Array], presets_BxP: jax.Array) -> jax.Array:
        """The proxy with explicit weights (e.g. to differentiate with respect to them)."""
        if presets_BxP.ndim != 2 or presets_BxP.shape[1] != self.num_params:
            raise ValueError(
                f"proxy {self.folder}: presets must be float32[B, {self.num_params}] "
                f"(synth {self.info['synth']!r}), got shape {tuple(presets_BxP.shape)}"
            )
        return self._exported.call(dict(weights), presets_BxP.astype(jnp.float32))

    def __call__(self, presets_BxP: jax.Array) -> jax.Array:
        return self.apply(self.weights, presets_BxP)


def main(argv: list[str]) -> None:
    del argv
    setup_cli_logging()
    FLAGS = flags.FLAGS  # noqa: N806
    path = export_from_workdir(FLAGS.workdir, FLAGS.out, FLAGS.checkpoint)
    print(f"exported {FLAGS.checkpoint} of {FLAGS.workdir} to {path}")


if __name__ == "__main__":
    flags.DEFINE_string("workdir", None, "Training workdir to export from.", required=True)
    flags.DEFINE_string("out", None, "Export folder to write.", required=True)
    flags.DEFINE_enum("checkpoint", "best_mrr", ["best_mrr", "best_l1", "latest"], "Which one.")
    app.run(main)
