"""Encoders by name, so configs can pick one: `build_encoder("tfm", layout, 192, rngs=...)`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from jaxproxy.models.encoders import (
    HighwayOneHot,
    HighwayTokenizer,
    HighwayTokenizerGRU,
    MLPOneHot,
    TransformerEncoder,
)
from jaxproxy.models.layout import PresetLayout

ENCODERS: dict[str, Callable[..., nnx.Module]] = {
    "mlp_oh": MLPOneHot,
    "hn_oh": HighwayOneHot,
    "hn_pt": HighwayTokenizer,
    "hn_ptgru": HighwayTokenizerGRU,
    "tfm": TransformerEncoder,
}


def encoder_hyperparameters(name: str) -> dict[str, Any]:
    """The keyword hyperparameters an encoder accepts (overrides), with their defaults."""
    cls = _encoder_class(name)
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params if p.kind is p.KEYWORD_ONLY and p.name != "rngs"}


def build_encoder(
    name: str, layout: PresetLayout, out_dim: int, *, rngs: nnx.Rngs, **overrides: Any
) -> nnx.Module:
    """Builds encoder `name` for `layout` with output size `out_dim` (the audio embedding size).

    Overrides replace the paper's "b" hyperparameters (e.g. d_token, d_hidden, num_layers, and
    dtype/param_dtype for bf16 compute); unknown names raise a ValueError listing the valid ones.
    """
    cls = _encoder_class(name)
    allowed = encoder_hyperparameters(name)
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ValueError(
            f"encoder {name!r} has no hyperparameter(s) {unknown}; valid ones: {sorted(allowed)}"
        )
    if not isinstance(layout, PresetLayout):
        raise TypeError(f"encoder {name!r}: layout must be a PresetLayout, got {type(layout)}")
    if int(out_dim) < 1:
        raise ValueError(f"encoder {name!r}: out_dim must be >= 1, got {out_dim}")
    return cls(layout, int(out_dim), rngs=rngs, **overrides)


def build_proxy(config: Any, layout: PresetLayout, out_dim: int) -> nnx.Module:
    """A proxy config's encoder (`config.encoder`, `encoder_kwargs`, `compute_dtype` applied),
    freshly initialised from `config.seed`."""
    overrides = dict(config.encoder_kwargs)
    if config.compute_dtype != "float32":
        overrides.setdefault("dtype", jnp.dtype(config.compute_dtype))
    return build_encoder(config.encoder, layout, out_dim, rngs=nnx.Rngs(config.seed), **overrides)


def abstract_encoder(name: str, layout: PresetLayout, out_dim: int, **overrides: Any) -> nnx.Module:
    """The encoder with shape-only (jax.ShapeDtypeStruct) variables: no memory, no compute."""
    return nnx.eval_shape(
        lambda: build_encoder(name, layout, out_dim, rngs=nnx.Rngs(0), **overrides)
    )


def count_params(model: nnx.Module) -> int:
    """Trainable parameters (nnx.Param only; BatchNorm statistics are not counted)."""
    leaves = jax.tree.leaves(nnx.state(model, nnx.Param))
    return int(sum(leaf.size for leaf in leaves))


def _encoder_class(name: str) -> Callable[..., nnx.Module]:
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose one of {sorted(ENCODERS)}")
    return ENCODERS[name]
