"""PyTorch models whose state_dict has the reference's layout (facts sections 5, 9.2), for tests.

Module names and nesting follow the reference's MlpBuilder / TfmBuilder (embedding_layer, blocks,
head, tokenizer, encoder) and its sound-matching EstimatorNet (enc_nn, features_mixer_cnn, mlp)
so `state_dict()` keys and shapes are the ones its checkpoints hold; `lightning_checkpoint` is
the structure Lightning saves around them. The math is the paper's. Written for these tests from
the facts digest, not copied.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _long(values) -> torch.Tensor:
    return torch.tensor(np.asarray(values), dtype=torch.long)


class OneHotEncoding(nn.Module):
    def __init__(self, layout):
        super().__init__()
        self.noncat_idx, self.cat_idx = _long(layout.noncat_idx), _long(layout.cat_idx)
        self.register_buffer("cat_offsets", _long(layout.cat_offsets))
        self.width = int(layout.onehot_width)

    def forward(self, x):
        out = torch.zeros(x.shape[0], self.width)
        out[:, : len(self.noncat_idx)] = x[:, self.noncat_idx]
        hot = x[:, self.cat_idx].long() + self.cat_offsets + len(self.noncat_idx)
        return out.scatter(1, hot, 1.0)


class PositionalEncoding(nn.Module):
    """Sinusoidal table computed in torch float32, (1, max_len, d), as a buffer."""

    def __init__(self, d: int, max_len: int = 5000):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        pe = torch.zeros(1, max_len, d)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[:, : x.shape[1]]


class PresetTokenizer(nn.Module):
    def __init__(self, layout, d: int, has_cls: bool, pe: bool):
        super().__init__()
        self.pos_encoding = PositionalEncoding(d) if pe else nn.Identity()
        self.cls_token = nn.Parameter(torch.randn(1, d) * 0.02) if has_cls else None
        self.noncat_idx, self.cat_idx = _long(layout.noncat_idx), _long(layout.cat_idx)
        self.noncat_tokenizer = nn.Parameter(torch.randn(len(self.noncat_idx), d) * 0.02)
        self.cat_tokenizer = nn.Embedding(int(layout.sum_card), d)
        self.register_buffer("cat_offsets", _long(layout.cat_offsets))
        self.d = d

    def forward(self, x):
        tokens = torch.zeros(*x.shape, self.d)
        tokens[:, self.noncat_idx] = self.noncat_tokenizer * x[:, self.noncat_idx, None]
        tokens[:, self.cat_idx] = self.cat_tokenizer(x[:, self.cat_idx].long() + self.cat_offsets)
        if self.cls_token is not None:
            tokens = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), tokens], dim=1)
        return self.pos_encoding(tokens)


class PresetTokenizerWithGRU(nn.Module):
    def __init__(self, layout, d: int):
        super().__init__()
        self.tokenizer = PresetTokenizer(layout, d, has_cls=False, pe=True)
        self.pre_norm = nn.Identity()
        self.gru = nn.GRU(d, d // 2, num_layers=1, bidirectional=True, batch_first=True)

    def forward(self, x):
        _, h = self.gru(self.pre_norm(self.tokenizer(x)))
        return h[-2:].transpose(0, 1).reshape(x.shape[0], -1)


def _fc(n_in, n_out):
    return [nn.Linear(n_in, n_out, bias=False), nn.BatchNorm1d(n_out), nn.ReLU(), nn.Dropout(0.0)]


class MLPBlock(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.block = nn.Sequential(*_fc(n_in, n_out), *_fc(n_out, n_out))

    def forward(self, x):
        return self.block(x)


class HighwayBlock(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.fc = nn.Sequential(*_fc(n_in, n_out))
        if n_in == n_out:
            self.gate = nn.Sequential(nn.Linear(n_in, n_in), nn.Sigmoid(), nn.Dropout(0.0))
        else:
            self.gate = None

    def forward(self, x):
        if self.gate is None:
            return self.fc(x)
        g = self.gate(x)
        return self.fc(x) * g + x * (1 - g)


class MlpBuilder(nn.Module):
    def __init__(self, embedding_layer, in_features, block, hidden, num_blocks, out_dim):
        super().__init__()
        self.embedding_layer = embedding_layer
        self.blocks = nn.Sequential(
            *[block(in_features if b == 0 else hidden, hidden) for b in range(num_blocks)]
        )
        self.head = nn.Linear(hidden, out_dim)

    def forward(self, x):
        x = self.embedding_layer(x)
        return self.head(self.blocks(x.flatten(1) if x.ndim == 3 else x))


class TfmBuilder(nn.Module):
    def __init__(self, layout, out_dim, d, num_blocks, heads, d_ff):
        super().__init__()
        self.tokenizer = PresetTokenizer(layout, d, has_cls=True, pe=True)
        layer = nn.TransformerEncoderLayer(
            d, heads, d_ff, dropout=0.0, activation="relu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_blocks, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(d), nn.ReLU(), nn.Linear(d, out_dim))

    def forward(self, x):
        return self.head(self.encoder(self.tokenizer(x))[:, 0])


def reference_encoder(name: str, layout, out_dim: int, size: dict) -> nn.Module:
    """The reference's encoder `name` at the given (small) sizes."""
    h, blocks = size.get("d_hidden", 32), size.get("num_layers", 3)
    if name == "mlp_oh":
        return MlpBuilder(OneHotEncoding(layout), layout.onehot_width, MLPBlock, h, 1, out_dim)
    if name == "hn_oh":
        emb = OneHotEncoding(layout)
        return MlpBuilder(emb, layout.onehot_width, HighwayBlock, h, blocks, out_dim)
    if name == "hn_pt":
        d = size["d_token"]
        emb = PresetTokenizer(layout, d, has_cls=False, pe=False)
        return MlpBuilder(emb, layout.n_used * d, HighwayBlock, h, blocks, out_dim)
    if name == "hn_ptgru":
        d = size["d_token"]
        return MlpBuilder(PresetTokenizerWithGRU(layout, d), d, HighwayBlock, h, blocks, out_dim)
    if name == "tfm":
        d = size["d_token"]
        return TfmBuilder(layout, out_dim, d, size["num_layers"], size["num_heads"], size["d_ff"])
    raise ValueError(name)


class EstimatorNet(nn.Module):
    """The sound-matching estimator (facts 9.2): strided convolutions (k5 then k4, stride 2,
    padding 2), LeakyReLU(0.1), BatchNorm2d after the activation from the second convolution on,
    a 1x1 convolution to `d_final`, global average pooling, Dropout(0.3), Linear, BatchNorm1d.
    Its input is the log-mel already min-max scaled to [-1, 1], as the reference's dataset
    serves it."""

    def __init__(self, out_dim: int, channels=(8, 16, 32, 64, 128, 256, 512), d_final=2048):
        super().__init__()
        chans, layers = (1, *channels), []
        for i in range(len(channels)):
            k = 5 if i == 0 else 4
            layers += [nn.Conv2d(chans[i], chans[i + 1], k, stride=2, padding=2), nn.LeakyReLU(0.1)]
            if i > 0:
                layers.append(nn.BatchNorm2d(chans[i + 1]))
        self.enc_nn = nn.Sequential(*layers)
        self.features_mixer_cnn = nn.Sequential(nn.Conv2d(chans[-1], d_final, 1), nn.LeakyReLU(0.1))
        self.mlp = nn.Sequential(
            nn.Dropout(0.3), nn.Linear(d_final, out_dim), nn.BatchNorm1d(out_dim)
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="leaky_relu", a=0.1)

    def forward(self, scaled_mel_BxMxT):
        x = self.features_mixer_cnn(self.enc_nn(scaled_mel_BxMxT.unsqueeze(1)))
        x = F.avg_pool2d(x, kernel_size=x.shape[2:]).view(x.shape[0], -1)
        return self.mlp(x)


class SoundMatchingModule(nn.Module):
    """The state-holding attributes of the reference's sound-matching Lightning module: the
    estimator and the frozen proxy (None in its PLoss runs, then absent from the state dict)."""

    def __init__(self, estimator: nn.Module, synth_proxy: nn.Module | None):
        super().__init__()
        self.estimator = estimator
        self.synth_proxy = synth_proxy


def lightning_checkpoint(module: nn.Module, epoch: int, global_step: int) -> dict:
    """The dict Lightning 2.2's ModelCheckpoint saves for `module` trained with AdamW and
    ReduceLROnPlateau (one optimizer step taken, so its state holds moments). No
    `hyper_parameters`: the reference's modules never call save_hyperparameters."""
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=7e-3, betas=(0.86, 0.98), eps=1e-8, weight_decay=0.01)
    for p in params:
        p.grad = torch.zeros_like(p)
    optimizer.step()
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=5)
    scheduler.step(1.7)
    progress = {"total": {"ready": global_step, "completed": global_step}}
    return {
        "epoch": epoch,
        "global_step": global_step,
        "pytorch-lightning_version": "2.2.3",
        "state_dict": module.state_dict(),
        "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": progress}},
        "callbacks": {
            "ModelCheckpoint{'monitor': 'val/loss/total', 'mode': 'min'}": {
                "monitor": "val/loss/total",
                "best_model_score": torch.tensor(1.6251),
                "best_model_path": f"/ckpt/e{epoch}.ckpt",
                "dirpath": "/ckpt",
                "best_k_models": {f"/ckpt/e{epoch}.ckpt": torch.tensor(1.6251)},
            }
        },
        "optimizer_states": [optimizer.state_dict()],
        "lr_schedulers": [scheduler.state_dict()],
    }
