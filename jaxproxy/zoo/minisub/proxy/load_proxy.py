"""Loads an exported proxy as a jit/grad/vmap-able function; needs only jax, numpy and the files.

This module imports nothing from jaxproxy: `jaxproxy.export` copies it into every export folder
as `load_proxy.py`, so a user without jaxproxy can do

  import importlib.util
  spec = importlib.util.spec_from_file_location("load_proxy", "exports/dx7_tfm/load_proxy.py")
  module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
  proxy = module.Proxy("exports/dx7_tfm")
  emb_BxE = proxy(presets_BxP)          # hard presets: float32[B, P]
  emb_BxE = proxy.soft(soft_BxW)        # soft presets: float32[B, W], the one-hot layout

Inputs. A hard preset holds raw values in [0, 1] for numerical and binary parameters and the
category index for categorical ones. A soft preset follows the one-hot layout: the numerical
values and binary probabilities (in used order), then one probability vector per categorical
parameter; it embeds as the expectation of the hard embeddings, so gradients reach every
parameter kind, and `proxy.soft(proxy.one_hot(presets))` equals `proxy(presets)` exactly.

Invalid hard presets (a value outside [0, 1], a category that is not an integer below its
cardinality) raise a ValueError naming the row and parameter when the input is concrete. Under
`jit`/`grad`/`vmap` values are unknown while tracing, so the rule is: such a row's embedding is
NaN (the exported model computes it), never a silent wrong embedding.

Transformations: `jit`, `grad`/`vjp` (reverse mode, first order) and `vmap` (extra batch axes
are folded into the exported symbolic batch dimension; vmapping over the weights or taking
gradients with respect to batched weights runs one call per vmapped slice). Forward-mode
(`jvp`, `jacfwd`) is not supported by exported functions.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

WEIGHTS_FILE, INFO_FILE = "weights.npz", "proxy.json"
HARD_FILE, SOFT_FILE = "encode.jaxexport", "encode_soft.jaxexport"
CONFIG_FILE, SPEC_FILE = "config.json", "synth_spec.json"


def _fold(x: jax.Array) -> tuple[jax.Array, tuple[int, ...]]:
    """[*V, B, F] -> ([prod(V) * B, F], V)."""
    return x.reshape(-1, x.shape[-1]), x.shape[:-2]


def _batchable(exported: Any) -> Callable[[dict, jax.Array], jax.Array]:
    """`f(weights, x_BxF) -> y_BxE` from an Exported, with reverse-mode AD and a vmap rule.

    `Exported.call` has no batching rule. The forward call and its two backward calls (with and
    without weight gradients) are each a `custom_vmap` whose rule folds vmapped axes into the
    symbolic batch dimension, or maps over the slices when the weights themselves are vmapped
    (a per-slice weight gradient cannot come from one folded call).
    """
    vjp_exported = exported.vjp()

    def mapped(fn, axis_size, in_batched, *args):
        def lead(value, batched):
            return value if batched else jnp.broadcast_to(value, (axis_size, *value.shape))

        args = jax.tree.map(lead, args, tuple(in_batched))
        return jax.lax.map(lambda sliced: fn(*sliced), args)

    @jax.custom_batching.custom_vmap
    def forward(weights, x):
        return exported.call(weights, x)

    @forward.def_vmap
    def _forward_rule(axis_size, in_batched, weights, x):
        w_batched, x_batched = in_batched
        if any(jax.tree.leaves(w_batched)):
            return mapped(forward, axis_size, in_batched, weights, x), True
        flat, lead = _fold(x)
        y = forward(weights, flat)
        return y.reshape(*lead, x.shape[-2], y.shape[-1]), True

    def weight_and_input_grads(weights, x, ct):
        leaves, treedef = jax.tree.flatten(weights)
        *d_leaves, dx = vjp_exported.call(*leaves, x, ct)
        return jax.tree.unflatten(treedef, d_leaves), dx

    @jax.custom_batching.custom_vmap
    def backward_full(weights, x, ct):
        return weight_and_input_grads(weights, x, ct)

    @backward_full.def_vmap
    def _backward_full_rule(axis_size, in_batched, weights, x, ct):
        out = mapped(backward_full, axis_size, in_batched, weights, x, ct)
        return out, (jax.tree.map(lambda _: True, out[0]), True)

    @jax.custom_batching.custom_vmap
    def backward_input(weights, x, ct):
        return weight_and_input_grads(weights, x, ct)[1]

    @backward_input.def_vmap
    def _backward_input_rule(axis_size, in_batched, weights, x, ct):
        w_batched, x_batched, ct_batched = in_batched
        if any(jax.tree.leaves(w_batched)):
            return mapped(backward_input, axis_size, in_batched, weights, x, ct), True
        size = (axis_size,)
        x = x if x_batched else jnp.broadcast_to(x, size + x.shape)
        ct = ct if ct_batched else jnp.broadcast_to(ct, size + ct.shape)
        dx = backward_input(weights, _fold(x)[0], _fold(ct)[0])
        return dx.reshape(x.shape), True

    @jax.custom_vjp
    def call(weights, x):
        return forward(weights, x)

    def call_fwd(weights, x):
        # symbolic_zeros: weights that are not differentiated (the usual frozen proxy) skip the
        # weight gradient, and their vmap folds into one call.
        wants_dw = any(w.perturbed for w in jax.tree.leaves(weights))
        values = jax.tree.map(lambda w: w.value, weights)
        return forward(values, x.value), (values, x.value, wants_dw)

    def call_bwd(res, ct):
        weights, x, wants_dw = res
        ct = jnp.zeros(jax.eval_shape(forward, weights, x).shape, x.dtype) if _is_zero(ct) else ct
        if wants_dw:
            return backward_full(weights, x, ct)
        return jax.tree.map(lambda _: None, weights), backward_input(weights, x, ct)

    call.defvjp(call_fwd, call_bwd, symbolic_zeros=True)
    return call


def _is_zero(ct: Any) -> bool:
    return type(ct).__name__ == "SymbolicZero"


class Proxy:
    """A loaded proxy: `proxy(presets_BxP)` and `proxy.soft(soft_BxW)` -> float32[B, E].

    Attributes:
      weights: the plain array dict (jax arrays) the functions are applied with.
      info, config, spec_json: the export's JSON files.
      param_names, param_kinds, cardinalities: the used parameters, in preset order.
      cat_idx, cat_cards, noncat_idx: where categorical / other parameters sit in a preset.
    """

    def __init__(self, folder: str):
        self.folder = folder
        paths = {n: os.path.join(folder, n) for n in (WEIGHTS_FILE, HARD_FILE, INFO_FILE)}
        for path in paths.values():
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{path} is missing: is {folder} a jaxproxy export?")
        self.info = _read_json(paths[INFO_FILE])
        self.config = _read_json(os.path.join(folder, CONFIG_FILE))
        self.spec_json = _read_json(os.path.join(folder, SPEC_FILE))
        inputs = self.info.get("inputs")
        if not isinstance(inputs, Mapping):
            raise ValueError(
                f"{paths[INFO_FILE]}: no 'inputs' field (format_version "
                f"{self.info.get('format_version')}); re-export the proxy with this jaxproxy"
            )
        self.param_names = list(inputs["names"])
        self.param_kinds = list(inputs["kinds"])
        self.cardinalities = [int(c) for c in inputs["cardinalities"]]
        kinds = np.asarray(self.param_kinds)
        self.cat_idx = np.flatnonzero(kinds == "cat")
        self.noncat_idx = np.flatnonzero(kinds != "cat")
        self.cat_cards = np.asarray(self.cardinalities, np.int64)[self.cat_idx]
        self.weights = _load_weights(paths[WEIGHTS_FILE])
        self._hard = _batchable(_deserialize(paths[HARD_FILE]))
        soft_path = os.path.join(folder, SOFT_FILE)
        self._soft = _batchable(_deserialize(soft_path)) if os.path.isfile(soft_path) else None

    @property
    def num_params(self) -> int:
        """P, the hard preset length."""
        return len(self.param_kinds)

    @property
    def soft_width(self) -> int:
        """W, the soft preset length: numerical/binary parameters plus all categories."""
        return len(self.noncat_idx) + int(self.cat_cards.sum())

    @property
    def embedding_dim(self) -> int:
        return int(self.info["embedding_dim"])

    def one_hot(self, presets_BxP: Any) -> np.ndarray:
        """Hard presets -> their soft (one-hot layout) form, float32[B, W] (checked, numpy)."""
        presets = self.check(presets_BxP)
        cats = [
            np.eye(card, dtype=np.float32)[presets[:, i].astype(np.int64)]
            for i, card in zip(self.cat_idx, self.cat_cards, strict=True)
        ]
        return np.concatenate([presets[:, self.noncat_idx], *cats], axis=1)

    def check(self, presets_BxP: Any) -> np.ndarray:
        """Raises a ValueError on the first invalid entry of concrete hard presets."""
        presets = np.asarray(presets_BxP, np.float32)
        self._check_shape(presets.shape, self.num_params, "presets")
        bad_num = (presets[:, self.noncat_idx] < 0) | ~(presets[:, self.noncat_idx] <= 1)
        cat = presets[:, self.cat_idx]
        bad_cat = (cat != np.round(cat)) | (cat < 0) | ~(cat < self.cat_cards)
        for bad, cols, expected in (
            (bad_num, self.noncat_idx, "a value in [0, 1]"),
            (bad_cat, self.cat_idx, "a category index"),
        ):
            if bad.any():
                row, k = (int(v[0]) for v in np.nonzero(bad))
                col = int(cols[k])
                if expected != "a value in [0, 1]":
                    expected += f" in 0..{self.cardinalities[col] - 1}"
                raise ValueError(
                    f"proxy {self.folder}: presets[{row}, {col}] ({self.param_names[col]!r}, "
                    f"{self.param_kinds[col]}) is {str(presets[row, col])}, expected {expected}"
                )
        return presets

    def _check_shape(self, shape: tuple[int, ...], width: int, what: str) -> None:
        if len(shape) != 2 or shape[1] != width:
            raise ValueError(
                f"proxy {self.folder}: {what} must be float32[B, {width}] (synth "
                f"{self.info.get('synth')!r}), got shape {tuple(shape)}"
            )

    def apply(self, weights: Mapping[str, jax.Array], presets_BxP: Any) -> jax.Array:
        """The hard proxy with explicit weights (e.g. to differentiate with respect to them)."""
        if not isinstance(presets_BxP, jax.core.Tracer):
            self.check(presets_BxP)
        self._check_shape(jnp.shape(presets_BxP), self.num_params, "presets")
        return self._hard(dict(weights), jnp.asarray(presets_BxP, jnp.float32))

    def apply_soft(self, weights: Mapping[str, jax.Array], soft_BxW: Any) -> jax.Array:
        """The soft proxy with explicit weights."""
        if self._soft is None:
            raise FileNotFoundError(f"{self.folder}/{SOFT_FILE} is missing: re-export the proxy")
        self._check_shape(jnp.shape(soft_BxW), self.soft_width, "soft presets")
        return self._soft(dict(weights), jnp.asarray(soft_BxW, jnp.float32))

    def __call__(self, presets_BxP: Any) -> jax.Array:
        return self.apply(self.weights, presets_BxP)

    def soft(self, soft_BxW: Any) -> jax.Array:
        return self.apply_soft(self.weights, soft_BxW)


def _read_json(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} is missing: is {os.path.dirname(path)} a jaxproxy export?")
    with open(path) as f:
        try:
            payload = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(payload, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(payload).__name__}")
    return payload


def upcast_weight(array: np.ndarray) -> np.ndarray:
    """float16 weights (stored at half size) as the float32 the model computes in."""
    return array.astype(np.float32) if array.dtype == np.float16 else array


def _load_weights(path: str) -> dict[str, jax.Array]:
    try:
        with np.load(path) as npz:
            # Shipped models (jaxproxy/zoo) store float16; the exported functions take float32.
            return {name: jnp.asarray(upcast_weight(npz[name])) for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        # (numpy's own text for a non-zip file suggests unpickling it: not advice to pass on)
        raise ValueError(f"{path}: not a .npz weights file (damaged, or not an export's)") from e


def _deserialize(path: str) -> Any:
    with open(path, "rb") as f:
        data = bytearray(f.read())
    try:
        return jax.export.deserialize(data)
    except Exception as e:  # the flatbuffer reader raises whatever garbage provokes
        raise ValueError(f"{path}: not a jax.export function (damaged, or not an export's)") from e
