"""The reference encoders' state-dict layout (facts section 5) mapped 1:1 onto our NNX encoders.

Linear and BatchNorm1d as in `state_map`; the GRU's stacked (3H, in) matrices keep their gate
order (r, z, n) and go to direction 0 (`_l0`) and 1 (`_l0_reverse`); the transformer's `in_proj`
rows [q; k; v] become the columns of our fused q|k|v kernel; the tokenizer's position buffer
`pos_encoding.pe` is used as stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from flax import nnx

from jaxproxy import models
from jaxproxy.convert.state_map import Path, StateMapper, fill_model
from jaxproxy.models.layout import PresetLayout


def detect_encoder(keys: Mapping[str, Any], source: str) -> str:
    """Which of the paper's five encoders a state dict belongs to."""
    if "tokenizer.noncat_tokenizer" in keys and "encoder.layers.0.linear1.weight" in keys:
        if "tokenizer.cls_token" not in keys:
            raise ValueError(f"{source}: unknown architecture: a TFM without CLS token (avg pool)")
        return "tfm"
    if "embedding_layer.gru.weight_ih_l0" in keys:
        return "hn_ptgru"
    if "embedding_layer.noncat_tokenizer" in keys and "blocks.0.fc.0.weight" in keys:
        return "hn_pt"
    if "embedding_layer.cat_offsets" in keys and "blocks.0.block.0.weight" in keys:
        return "mlp_oh"
    if "embedding_layer.cat_offsets" in keys and "blocks.0.fc.0.weight" in keys:
        return "hn_oh"
    shown = ", ".join(sorted(keys)[:6])
    raise ValueError(
        f"{source}: unknown architecture (not MLP-OH, HN-OH, HN-PT, HN-PTGRU or TFM); keys: "
        f"{shown}, ..."
    )


def _count(keys: Mapping[str, Any], pattern: str) -> int:
    found = {int(m.group(1)) for k in keys if (m := re.match(pattern, k))}
    return max(found) + 1 if found else 0


def infer_hyperparameters(
    encoder: str, sd: Mapping[str, np.ndarray], num_heads: int
) -> tuple[dict[str, Any], int]:
    """(our encoder's keyword hyperparameters, output size) from the tensors' shapes."""
    if encoder == "tfm":
        d_token = sd["tokenizer.noncat_tokenizer"].shape[1]
        return dict(
            d_token=d_token,
            num_layers=_count(sd, r"encoder\.layers\.(\d+)\."),
            num_heads=num_heads,
            d_ff=sd["encoder.layers.0.linear1.weight"].shape[0],
        ), sd["head.2.weight"].shape[0]
    out_dim = sd["head.weight"].shape[0]
    num_blocks = _count(sd, r"blocks\.(\d+)\.")
    if encoder == "mlp_oh":
        hidden = sd["blocks.0.block.0.weight"].shape[0]
        return dict(d_hidden=hidden, num_layers=2 * num_blocks), out_dim
    kwargs: dict[str, Any] = dict(
        d_hidden=sd["blocks.0.fc.0.weight"].shape[0], num_layers=num_blocks
    )
    if encoder == "hn_pt":
        kwargs["d_token"] = sd["embedding_layer.noncat_tokenizer"].shape[1]
    elif encoder == "hn_ptgru":
        d_token = sd["embedding_layer.tokenizer.noncat_tokenizer"].shape[1]
        hidden = sd["embedding_layer.gru.weight_hh_l0"].shape[1]
        kwargs.update(d_token=d_token, gru_hidden_factor=2 * hidden / d_token)
    return kwargs, out_dim


def layout_facts(encoder: str, sd: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """What the checkpoint says about its synth's layout: categorical offsets, and the number of
    non-categorical parameters and of category rows (or the one-hot width)."""
    if encoder in ("mlp_oh", "hn_oh"):
        first = "blocks.0.block.0.weight" if encoder == "mlp_oh" else "blocks.0.fc.0.weight"
        return dict(cat_offsets=sd["embedding_layer.cat_offsets"], onehot_width=sd[first].shape[1])
    prefix = {"tfm": "tokenizer.", "hn_pt": "embedding_layer."}.get(
        encoder, "embedding_layer.tokenizer."
    )
    return dict(
        cat_offsets=sd[prefix + "cat_offsets"],
        n_noncat=sd[prefix + "noncat_tokenizer"].shape[0],
        sum_card=sd[prefix + "cat_tokenizer.weight"].shape[0],
    )


def layout_matches(layout: PresetLayout, facts: Mapping[str, Any]) -> bool:
    offsets = np.asarray(facts["cat_offsets"]).astype(np.int64)
    if offsets.shape != (layout.n_cat,) or not np.array_equal(offsets, layout.cat_offsets):
        return False
    if "onehot_width" in facts:
        return facts["onehot_width"] == layout.onehot_width
    return facts["n_noncat"] == layout.n_noncat and facts["sum_card"] == layout.sum_card


class _Mapper(StateMapper):
    """The encoders' composite parts: tokenizers, highway stacks, the bidirectional GRU."""

    def check_offsets(self, key: str, layout: PresetLayout) -> None:
        offsets = self.take(key)
        if not np.array_equal(np.asarray(offsets, np.int64), layout.cat_offsets):
            raise ValueError(
                f"{self.source}: key {key!r} = {offsets.tolist()} is not synth "
                f"{layout.name!r}'s categorical offsets {layout.cat_offsets.tolist()}"
            )

    def tokenizer(self, ref: str, path: Path, layout: PresetLayout, cls: bool, pe: bool) -> None:
        self.put(
            (*path, "noncat_weight"), self.take(f"{ref}noncat_tokenizer"), f"{ref}noncat_tokenizer"
        )
        table = f"{ref}cat_tokenizer.weight"
        self.put((*path, "cat_table"), self.take(table), table)
        self.check_offsets(f"{ref}cat_offsets", layout)
        if cls:
            self.put((*path, "cls_token"), self.take(f"{ref}cls_token"), f"{ref}cls_token")
        if pe:
            key = f"{ref}pos_encoding.pe"
            stored = self.take(key)
            tokens = self.ours[(*path, "positions")].shape[0]
            if stored.ndim != 3 or stored.shape[1] < tokens:
                raise ValueError(f"{self.source}: key {key!r} of shape {stored.shape} is too short")
            self.put((*path, "positions"), stored[0, :tokens], key)

    def highway(self, path: Path, num_layers: int) -> None:
        for i in range(num_layers):
            block = (*path, "blocks", i)
            self.linear(f"blocks.{i}.fc.0", (*block, "fc"), bias=False)
            self.norm(f"blocks.{i}.fc.1", (*block, "norm"), batch=True)
            if (*block, "gate", "kernel") in self.ours:
                self.linear(f"blocks.{i}.gate.0", (*block, "gate"), bias=True)
        self.linear("head", (*path, "head"), bias=True)

    def bigru(self, ref: str, path: Path) -> None:
        for ours, theirs in (
            ("w_ih", "weight_ih"),
            ("w_hh", "weight_hh"),
            ("b_ih", "bias_ih"),
            ("b_hh", "bias_hh"),
        ):
            keys = [f"{ref}{theirs}_l0", f"{ref}{theirs}_l0_reverse"]
            parts = [self.take(k) for k in keys]
            stacked = np.stack([p.T if ours[0] == "w" else p for p in parts])
            self.put((*path, ours), stacked, keys[0])


def _map_tfm(m: _Mapper, layout: PresetLayout, num_layers: int) -> None:
    m.tokenizer("tokenizer.", ("tokenizer",), layout, cls=True, pe=True)
    for i in range(num_layers):
        ref, mine = f"encoder.layers.{i}.", ("layers", i)
        attn = f"{ref}self_attn."
        # in_proj rows are [q; k; v]: its transpose is our fused kernel with columns q | k | v.
        m.put((*mine, "qkv", "kernel"), m.take(f"{attn}in_proj_weight").T, f"{attn}in_proj_weight")
        m.put((*mine, "qkv", "bias"), m.take(f"{attn}in_proj_bias"), f"{attn}in_proj_bias")
        m.linear(f"{attn}out_proj", (*mine, "attn_out"), bias=True)
        m.linear(f"{ref}linear1", (*mine, "ff_in"), bias=True)
        m.linear(f"{ref}linear2", (*mine, "ff_out"), bias=True)
        m.norm(f"{ref}norm1", (*mine, "norm_attn"), batch=False)
        m.norm(f"{ref}norm2", (*mine, "norm_ff"), batch=False)
    m.norm("head.0", ("head_norm",), batch=False)
    m.linear("head.2", ("head",), bias=True)


def _map_mlp_oh(m: _Mapper, layout: PresetLayout, num_layers: int) -> None:
    m.check_offsets("embedding_layer.cat_offsets", layout)
    for i in range(num_layers // 2):
        ref, mine = f"blocks.{i}.block.", ("blocks", i)
        m.linear(f"{ref}0", (*mine, "fc1"), bias=False)
        m.norm(f"{ref}1", (*mine, "norm1"), batch=True)
        m.linear(f"{ref}4", (*mine, "fc2"), bias=False)
        m.norm(f"{ref}5", (*mine, "norm2"), batch=True)
    m.linear("head", ("head",), bias=True)


def _map_hn_oh(m: _Mapper, layout: PresetLayout, num_layers: int) -> None:
    m.check_offsets("embedding_layer.cat_offsets", layout)
    m.highway(("network",), num_layers)


def _map_hn_pt(m: _Mapper, layout: PresetLayout, num_layers: int) -> None:
    m.tokenizer("embedding_layer.", ("tokenizer",), layout, cls=False, pe=False)
    m.highway(("network",), num_layers)


def _map_hn_ptgru(m: _Mapper, layout: PresetLayout, num_layers: int) -> None:
    m.tokenizer("embedding_layer.tokenizer.", ("tokenizer",), layout, cls=False, pe=True)
    m.bigru("embedding_layer.gru.", ("gru",))
    m.highway(("network",), num_layers)


_MAPPERS: dict[str, Callable[[_Mapper, PresetLayout, int], None]] = {
    "tfm": _map_tfm,
    "mlp_oh": _map_mlp_oh,
    "hn_oh": _map_hn_oh,
    "hn_pt": _map_hn_pt,
    "hn_ptgru": _map_hn_ptgru,
}


def build_converted(
    sd: Mapping[str, np.ndarray],
    layout: PresetLayout,
    *,
    num_heads: int = 8,
    source: str = "checkpoint",
) -> tuple[nnx.Module, str, dict[str, Any], int]:
    """(our encoder holding the reference weights, in eval mode; its name; its hyperparameters;
    its output size) for a reference state dict (prefix already stripped)."""
    encoder = detect_encoder(sd, source)
    kwargs, out_dim = infer_hyperparameters(encoder, sd, num_heads)
    # Shapes only (no initialiser runs): every variable is then set from the checkpoint.
    model = models.abstract_encoder(encoder, layout, out_dim, **kwargs)
    fill_model(
        model,
        sd,
        source,
        lambda mapper: _MAPPERS[encoder](mapper, layout, kwargs["num_layers"]),
        _Mapper,
    )
    return model, encoder, kwargs, out_dim
