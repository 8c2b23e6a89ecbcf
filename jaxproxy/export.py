"""Export a trained proxy to a self-describing folder, and load it back as a jittable function.

The folder holds `weights.npz` (parameters and BatchNorm statistics as a plain array dict),
`config.json`, `synth_spec.json`, `proxy.json` (dimensions and the used parameters' names, kinds
and cardinalities), `encode.jaxexport` and `encode_soft.jaxexport` (`jax.export` serializations
of `encode(weights, presets_BxP)` and `encode_soft(weights, soft_BxW)` -> emb_BxE with a symbolic
batch size and first-order derivatives) and `load_proxy.py`, a copy of `jaxproxy.proxy_loader`
that loads it all with only jax and numpy (jit, grad and vmap; see that module):

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
from absl import flags
from flax import nnx

from data_gen.cli_support.command_line import in_dir_problem, out_dir_problem
from jaxproxy import models, proxy_loader, run_files, user_errors
from jaxproxy.checkpointing import Checkpointer, abstract_like
from jaxproxy.logs import setup_cli_logging
from jaxproxy.models.functional import flat_weights, make_encode, split_model
from jaxproxy.models.layout import PresetLayout
from jaxproxy.train_state import init_state, proxy_optimizer

WEIGHTS_FILE, INFO_FILE = proxy_loader.WEIGHTS_FILE, proxy_loader.INFO_FILE
FUNCTION_FILE, SOFT_FUNCTION_FILE = proxy_loader.HARD_FILE, proxy_loader.SOFT_FILE
CONFIG_FILE, SPEC_FILE = proxy_loader.CONFIG_FILE, proxy_loader.SPEC_FILE
LOADER_FILE = "load_proxy.py"
FORMAT_VERSION = 2  # 2: soft function, "inputs" in proxy.json, load_proxy.py
Proxy = proxy_loader.Proxy
_PLATFORMS = ("cpu", "cuda", "rocm", "tpu")


def export_model(
    out_dir: str,
    model: Any,
    *,
    config: Mapping[str, Any],
    spec_json: Mapping[str, Any],
    embedding_dim: int,
) -> str:
    """Writes the export folder for a live NNX encoder (exported in eval mode); returns its path."""
    model_def, params, batch_stats = split_model(model)
    encode_state = make_encode(model_def)
    weights, treedef = flat_weights({"params": params, "batch_stats": batch_stats})
    names = list(weights)
    layout = PresetLayout.from_spec_json(spec_json)

    def encoder(soft: bool):
        def encode(weights_by_name: dict[str, jax.Array], presets: jax.Array) -> jax.Array:
            tree = jax.tree_util.tree_unflatten(treedef, [weights_by_name[n] for n in names])
            return encode_state(tree["params"], tree["batch_stats"], presets, soft=soft)

        return jax.jit(encode)

    num_params = models.count_params(model)
    weight_specs = {n: jax.ShapeDtypeStruct(w.shape, w.dtype) for n, w in weights.items()}
    hard = _export(encoder(False), weight_specs, layout.n_used)
    soft = _export(encoder(True), weight_specs, layout.onehot_width)

    tmp = out_dir.rstrip("/") + ".tmp"
    check_out(out_dir)
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    np.savez(os.path.join(tmp, WEIGHTS_FILE), **weights)
    for name, exported in ((FUNCTION_FILE, hard), (SOFT_FUNCTION_FILE, soft)):
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(exported.serialize(vjp_order=1))
    shutil.copyfile(proxy_loader.__file__, os.path.join(tmp, LOADER_FILE))
    used = [p for p in spec_json["params"] if p.get("used", True)]
    info = {
        "format_version": FORMAT_VERSION,
        "encoder": config.get("encoder"),
        "synth": spec_json.get("name"),
        "num_used_params": layout.n_used,
        "soft_width": layout.onehot_width,
        "inputs": {
            "names": [str(p.get("name", f"param{i}")) for i, p in enumerate(used)],
            "kinds": [p["kind"] for p in used],
            "cardinalities": [int(p.get("cardinality", -1)) for p in used],
        },
        "embedding_dim": int(embedding_dim),
        "num_trainable_params": num_params,
        "platforms": list(hard.platforms),
    }
    for name, payload in ((CONFIG_FILE, dict(config)), (SPEC_FILE, spec_json), (INFO_FILE, info)):
        with open(os.path.join(tmp, name), "w") as f:
            json.dump(payload, f, indent=2, default=str)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)  # the folder appears complete or not at all
    return out_dir


def _export(fn, weight_specs: dict[str, jax.ShapeDtypeStruct], width: int):
    """`jax.export` of fn(weights, x) for x float32[batch, width], batch symbolic."""
    (batch,) = jax.export.symbolic_shape("batch")
    x_spec = jax.ShapeDtypeStruct((batch, width), jnp.float32)
    try:
        return jax.export.export(fn, platforms=_PLATFORMS)(weight_specs, x_spec)
    except Exception:  # a jaxlib without some platform's lowering rules: this platform only
        return jax.export.export(fn)(weight_specs, x_spec)


def check_out(out_dir: str) -> None:
    """Raises OSError when `out_dir` cannot become an export folder; an existing folder must be
    an earlier export or empty, since exporting replaces it whole."""
    problem = out_dir_problem(out_dir, "--out")
    if problem:
        raise NotADirectoryError(problem)
    earlier = os.path.isfile(os.path.join(out_dir, INFO_FILE))
    if os.path.isdir(out_dir) and os.listdir(out_dir) and not earlier:
        raise FileExistsError(
            f"--out {out_dir}: holds files and no {INFO_FILE}, so it is not an earlier export "
            "to replace; give a new or empty folder"
        )


def export_from_workdir(workdir: str, out_dir: str, checkpoint: str = "best_mrr") -> str:
    """Exports the `checkpoint` ("best_mrr", "best_l1" or "latest") of a training run."""
    problem = in_dir_problem(workdir, "--workdir", "training workdir")
    if problem:
        raise (NotADirectoryError if os.path.exists(workdir) else FileNotFoundError)(problem)
    check_out(out_dir)

    def read(name: str):
        return run_files.read_json(
            workdir, name, "a proxy training workdir", f"--workdir {workdir}"
        )

    config = ml_collections.ConfigDict(read(run_files.CONFIG_FILE))
    spec_json, data_facts = read(run_files.SPEC_FILE), read(run_files.DATA_FILE)
    layout = PresetLayout.from_spec_json(spec_json)
    model = models.build_proxy(config, layout, data_facts["embedding_dim"])
    _, params, batch_stats = split_model(model)
    # Only the structure of the optimizer state matters for restoring; the schedule does not.
    tx = proxy_optimizer(config, optax.constant_schedule(config.lr))
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"))
    restored = ckpt.restore(abstract_like(init_state(params, batch_stats, tx)), checkpoint)
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


def main(argv: list[str]) -> None:
    del argv
    setup_cli_logging()
    FLAGS = flags.FLAGS  # noqa: N806
    path = export_from_workdir(FLAGS.workdir, FLAGS.out, FLAGS.checkpoint)
    print(f"exported {FLAGS.checkpoint} of {FLAGS.workdir} to {path}")


if __name__ == "__main__":
    flags.DEFINE_string("workdir", None, "Training workdir to export from.", required=True)
    flags.DEFINE_string(
        "out", None, "Export folder to write (new, empty, or an earlier export).", required=True
    )
    flags.DEFINE_enum("checkpoint", "best_mrr", ["best_mrr", "best_l1", "latest"], "Which one.")
    user_errors.run(main)
