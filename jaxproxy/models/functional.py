"""An NNX model as pure functions: split once into a static definition and weights, merged in jit.

Shared by training (the jitted steps), exporting and loading; needs only jax and flax.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import flax
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx


@flax.struct.dataclass
class ModelDef:
    """The static half of a split model: train/eval graph definitions and untrained state."""

    train_graph: nnx.GraphDef = flax.struct.field(pytree_node=False)
    eval_graph: nnx.GraphDef = flax.struct.field(pytree_node=False)
    rest: nnx.State  # anything that is neither a Param nor a BatchStat (held constant)


def split_model(model: nnx.Module) -> tuple[ModelDef, nnx.State, nnx.State]:
    """Splits `model` into (ModelDef, params, batch_stats); the model is left in eval mode."""
    model.train()
    train_graph, params, batch_stats, rest = nnx.split(model, nnx.Param, nnx.BatchStat, ...)
    model.eval()
    eval_graph = nnx.graphdef(model)
    return ModelDef(train_graph, eval_graph, rest), params, batch_stats


def make_encode(model_def: ModelDef) -> Callable[[nnx.State, nnx.State, jax.Array], jax.Array]:
    """Returns the pure eval-mode `encode(params, batch_stats, presets, soft=False) -> emb_BxE`.

    `presets` are hard float32[B, P], or soft float32[B, onehot_width] with `soft=True`.
    """

    def encode(params, batch_stats, presets, soft: bool = False):
        model = nnx.merge(model_def.eval_graph, params, batch_stats, model_def.rest)
        return model(presets, soft=soft).astype(jnp.float32)

    return encode


def flat_weights(tree: Any) -> tuple[dict[str, np.ndarray], Any]:
    """({"params/...": array, "batch_stats/...": array}, treedef) of {params, batch_stats}."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    names = [jax.tree_util.keystr(path, simple=True, separator="/") for path, _ in leaves]
    return {n: np.asarray(x) for n, (_, x) in zip(names, leaves, strict=True)}, treedef


def load_weights(model: nnx.Module, weights: Mapping[str, Any], where: str) -> nnx.Module:
    """Puts an export's flat weights (`flat_weights` names) into `model`; ValueError naming
    `where` and the first missing names when they are not this model's."""
    _, params, batch_stats = split_model(model)
    names, treedef = flat_weights({"params": params, "batch_stats": batch_stats})
    missing = sorted(set(names) - set(weights))
    if missing:
        raise ValueError(f"{where}: weights {missing[:3]} missing (another model or config?)")
    tree = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(weights[n]) for n in names])
    nnx.update(model, tree["params"], tree["batch_stats"])
    return model
