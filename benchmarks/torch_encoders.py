"""The paper's five preset encoders in plain PyTorch, only for the train-step benchmark.

Same architectures as jaxproxy.models (facts digest section 5.3): MLP-OH, HN-OH, HN-PT,
HN-PTGRU, TFM. Initialisation is PyTorch's default: it does not change the step's cost.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def _long(indices) -> torch.Tensor:
    return torch.tensor(np.asarray(indices), dtype=torch.long)


class OneHot(nn.Module):
    """[noncat raw values | one-hot of each categorical] -> float[B, onehot_width]."""

    def __init__(self, layout):
        super().__init__()
        self.register_buffer("noncat", _long(layout.noncat_idx))
        self.register_buffer("cat", _long(layout.cat_idx))
        offsets = np.asarray(layout.cat_offsets) + len(layout.noncat_idx)
        self.register_buffer("offsets", _long(offsets))
        self.width = int(layout.onehot_width)

    def forward(self, presets_BxP):
        out_BxW = presets_BxP.new_zeros(presets_BxP.shape[0], self.width)
        out_BxW[:, : len(self.noncat)] = presets_BxP[:, self.noncat]
        hot_BxK = presets_BxP[:, self.cat].long() + self.offsets
        return out_BxW.scatter(1, hot_BxK, 1.0)


class Tokenizer(nn.Module):
    """Numerical x_j * w_j and categorical table rows at their used positions [+ CLS, + PE]."""

    def __init__(self, layout, d, *, cls=False, pe=False):
        super().__init__()
        self.register_buffer("noncat", _long(layout.noncat_idx))
        self.register_buffer("cat", _long(layout.cat_idx))
        self.register_buffer("offsets", _long(layout.cat_offsets))
        self.w_noncat = nn.Parameter(torch.randn(len(layout.noncat_idx), d) * 0.02)
        self.table = nn.Embedding(int(layout.sum_card), d)
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02) if cls else None
        self.n_used, self.d = int(layout.n_used), d
        length = self.n_used + int(cls)
        pos = torch.arange(length)[:, None]
        freq = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        table = torch.zeros(length, d)
        table[:, 0::2], table[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
        self.register_buffer("pe", table if pe else None)

    def forward(self, presets_BxP):
        batch = presets_BxP.shape[0]
        tokens_BxPxD = presets_BxP.new_zeros(batch, self.n_used, self.d)
        tokens_BxPxD[:, self.noncat] = presets_BxP[:, self.noncat, None] * self.w_noncat
        tokens_BxPxD[:, self.cat] = self.table(presets_BxP[:, self.cat].long() + self.offsets)
        if self.cls is not None:
            tokens_BxPxD = torch.cat([self.cls.expand(batch, -1, -1), tokens_BxPxD], dim=1)
        return tokens_BxPxD if self.pe is None else tokens_BxPxD + self.pe


def _plain(n_in, n_out):
    return nn.Sequential(nn.Linear(n_in, n_out, bias=False), nn.BatchNorm1d(n_out), nn.ReLU())


class Highway(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.fc, self.gate = _plain(h, h), nn.Linear(h, h)

    def forward(self, x):
        g = torch.sigmoid(self.gate(x))
        return self.fc(x) * g + x * (1 - g)


def _highway_trunk(n_in, h, num_layers, out_dim):
    blocks = [_plain(n_in, h)] + [Highway(h) for _ in range(num_layers - 1)]
    return nn.Sequential(*blocks, nn.Linear(h, out_dim))


class BiGRULast(nn.Module):
    """Bidirectional GRU; output [h_fwd_T, h_bwd_0]."""

    def __init__(self, d):
        super().__init__()
        self.gru = nn.GRU(d, d // 2, batch_first=True, bidirectional=True)

    def forward(self, tokens_BxPxD):
        _, h_2xBxH = self.gru(tokens_BxPxD)
        return h_2xBxH.transpose(0, 1).reshape(tokens_BxPxD.shape[0], -1)


class TFM(nn.Module):
    def __init__(self, layout, out_dim, d=256, num_layers=6, heads=8, d_ff=1024):
        super().__init__()
        self.tok = Tokenizer(layout, d, cls=True, pe=True)
        layer = nn.TransformerEncoderLayer(
            d, heads, d_ff, dropout=0.0, activation="relu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(d), nn.ReLU(), nn.Linear(d, out_dim))

    def forward(self, presets_BxP):
        return self.head(self.encoder(self.tok(presets_BxP))[:, 0])


def build_torch_encoder(name: str, layout, out_dim: int) -> nn.Module:
    if name == "mlp_oh":
        w = int(layout.onehot_width)
        return nn.Sequential(
            OneHot(layout), _plain(w, 2048), _plain(2048, 2048), nn.Linear(2048, out_dim)
        )
    if name == "hn_oh":
        return nn.Sequential(
            OneHot(layout), _highway_trunk(int(layout.onehot_width), 768, 6, out_dim)
        )
    if name == "hn_pt":
        trunk = _highway_trunk(int(layout.n_used) * 64, 512, 6, out_dim)
        return nn.Sequential(Tokenizer(layout, 64), nn.Flatten(), trunk)
    if name == "hn_ptgru":
        tok = Tokenizer(layout, 384, pe=True)
        return nn.Sequential(tok, BiGRULast(384), _highway_trunk(384, 768, 6, out_dim))
    if name == "tfm":
        return TFM(layout, out_dim)
    raise ValueError(f"unknown encoder {name!r}")
