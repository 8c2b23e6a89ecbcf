"""The sound-matching estimator (InverSynth II style CNN on log-mel, facts 9.2) and its decoding.

Public API (used by training and by `jaxproxy.match`):
  - `SoundMatchingEstimator(layout, mel_min=..., mel_max=..., rngs=...)`: raw dB log-mel
    float32[B, 128, T] -> logits float32[B, W] in the *used-order* layout (every used parameter,
    in preset order, gets 1 column, or one per category: `PresetLayout.used_widths`).
    The min-max scaling to [-1, 1] with the training set's scalar statistics (facts 9.1) is part
    of the model, so a user's WAV only needs `ssm_log_mel` before it.
  - `decode_presets(logits, layout)`: hard presets float32[B, P] (sigmoid; round(sigmoid) for
    binaries; argmax for categoricals), the proxy's and the renderer's input.
  - `soft_presets(logits, layout, mode=...)`: the proxy's soft input float32[B, W] in the one-hot
    layout (probabilities; optionally straight-through or Gumbel-softmax).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxproxy.models import initializers as init
from jaxproxy.models import strided_conv
from jaxproxy.models.blocks import BatchNorm
from jaxproxy.models.layout import PresetLayout

# kaiming_normal_(fan_in, nonlinearity="leaky_relu", a=0.1): N(0, 2 / ((1 + a^2) fan_in)).
kaiming_leaky = jax.nn.initializers.variance_scaling(2.0 / (1.0 + 0.1**2), "fan_in", "normal")
SOFT_MODES = ("probs", "straight_through", "gumbel")


class MelStatistic(nnx.Variable):
    """A fixed input statistic (not trained, not a batch statistic)."""


def _torch_conv(in_ch: int, out_ch: int, k: int, stride: int, pad: int, rngs) -> nnx.Conv:
    return nnx.Conv(
        in_ch,
        out_ch,
        kernel_size=(k, k),
        strides=(stride, stride),
        padding=((pad, pad), (pad, pad)),
        kernel_init=kaiming_leaky,
        bias_init=init.torch_linear_bias(in_ch * k * k),  # PyTorch's default conv bias
        conv_general_dilated=strided_conv.conv_general_dilated,  # same outputs, faster gradient
        rngs=rngs,
    )


class SoundMatchingEstimator(nnx.Module):
    """Conv stack (k5 s2 then k4 s2, LeakyReLU(0.1), BatchNorm2d after the activation from conv 2),
    a 1x1 conv to 2048, global average pooling, Dropout(0.3), Linear and BatchNorm1d (facts 9.2).

    Dexed layout (W = 141): 4,138,567 trainable parameters; Diva (W = 396): 4,661,572.
    """

    def __init__(
        self,
        layout: PresetLayout,
        *,
        mel_min: float = 0.0,
        mel_max: float = 1.0,
        channels: tuple[int, ...] = (8, 16, 32, 64, 128, 256, 512),
        d_final: int = 2048,
        dropout: float = 0.3,
        rngs: nnx.Rngs,
    ):
        self.layout = layout
        self.out_dim = int(layout.used_widths.sum())
        self.mel_min = MelStatistic(jnp.asarray(mel_min, jnp.float32))
        self.mel_max = MelStatistic(jnp.asarray(mel_max, jnp.float32))
        chans = (1, *channels)
        self.convs = nnx.List(
            [
                _torch_conv(chans[i], chans[i + 1], 5 if i == 0 else 4, 2, 2, rngs)
                for i in range(len(channels))
            ]
        )
        self.norms = nnx.List([BatchNorm(c) for c in channels[1:]])  # none after conv 1
        self.final_conv = _torch_conv(channels[-1], d_final, 1, 1, 0, rngs)
        self.dropout = nnx.Dropout(dropout)
        self.head = nnx.Linear(
            d_final,
            self.out_dim,
            kernel_init=kaiming_leaky,
            bias_init=init.torch_linear_bias(d_final),
            rngs=rngs,
        )
        self.head_norm = BatchNorm(self.out_dim)

    def scale(self, mel_BxMxT: jax.Array) -> jax.Array:
        """Min-max scaling to [-1, 1] with the training statistics (facts 9.1)."""
        lo, hi = self.mel_min.value, self.mel_max.value
        return -1.0 + 2.0 * (mel_BxMxT - lo) / (hi - lo)

    def __call__(self, mel_BxMxT: jax.Array, *, rngs: nnx.Rngs | None = None) -> jax.Array:
        """Raw dB log-mel float32[B, M, T] -> logits float32[B, W] (used-order layout).

        `rngs` (a "dropout" stream) is needed in training mode only.
        """
        if mel_BxMxT.ndim != 3:
            raise ValueError(
                f"estimator: log-mel must be float32[B, n_mels, frames], got {mel_BxMxT.shape}"
            )
        x_BxHxWxC = self.scale(mel_BxMxT.astype(jnp.float32))[..., None]
        for i, conv in enumerate(self.convs):
            x_BxHxWxC = jax.nn.leaky_relu(conv(x_BxHxWxC), 0.1)
            if i > 0:
                x_BxHxWxC = self.norms[i - 1](x_BxHxWxC)
        x_BxHxWxC = jax.nn.leaky_relu(self.final_conv(x_BxHxWxC), 0.1)
        pooled_BxC = jnp.mean(x_BxHxWxC, axis=(1, 2))
        return self.head_norm(self.head(self.dropout(pooled_BxC, rngs=rngs)))


def build_estimator(
    config: Any, layout: PresetLayout, mel_min: float, mel_max: float
) -> SoundMatchingEstimator:
    """An estimator config's model (`channels`, `d_final`, `dropout`), initialised from
    `config.seed`, scaling log-mel with the training set's statistics."""
    return SoundMatchingEstimator(
        layout,
        mel_min=mel_min,
        mel_max=mel_max,
        channels=tuple(config.channels),
        d_final=config.d_final,
        dropout=config.dropout,
        rngs=nnx.Rngs(config.seed),
    )


def _column_groups(layout: PresetLayout) -> list[int]:
    """Start column of every used parameter in the used-order layout."""
    return [0, *np.cumsum(layout.used_widths)[:-1].tolist()]


def split_logits(logits_BxW: jax.Array, layout: PresetLayout):
    """(noncat logits [B, n_noncat] in used order, [cat logits [B, card_k] per categorical])."""
    starts = _column_groups(layout)
    noncat_BxN = logits_BxW[:, [starts[i] for i in layout.noncat_idx]]
    cats = [
        logits_BxW[:, starts[i] : starts[i] + int(c)]
        for i, c in zip(layout.cat_idx, layout.cat_cards, strict=True)
    ]
    return noncat_BxN, cats


def decode_presets(logits_BxW: jax.Array, layout: PresetLayout) -> jax.Array:
    """Hard presets float32[B, P] (facts 9.3): sigmoid, round(sigmoid) for binaries, argmax.

    Only the numerical columns carry a gradient (round and argmax have none).
    """
    starts = _column_groups(layout)
    cols = []
    is_bin = set(layout.bin_idx.tolist())
    cards = dict(zip(layout.cat_idx.tolist(), layout.cat_cards.tolist(), strict=True))
    for i in range(layout.n_used):
        if i in cards:
            block_BxC = logits_BxW[:, starts[i] : starts[i] + cards[i]]
            cols.append(jnp.argmax(block_BxC, axis=1).astype(jnp.float32))
        elif i in is_bin:
            cols.append(jnp.round(jax.nn.sigmoid(logits_BxW[:, starts[i]])))
        else:
            cols.append(jax.nn.sigmoid(logits_BxW[:, starts[i]]))
    return jnp.stack(cols, axis=1)


def soft_presets(
    logits_BxW: jax.Array,
    layout: PresetLayout,
    *,
    mode: str = "probs",
    key: jax.Array | None = None,
    temperature: float = 1.0,
) -> jax.Array:
    """The proxy's soft input float32[B, W] (one-hot layout) from estimator logits.

    Modes: "probs" (sigmoid / softmax), "straight_through" (the hard decoding's one-hot values
    forward, the probabilities' gradient backward), "gumbel" (Gumbel-softmax samples at
    `temperature`, with `key`; straight-through on top of them).
    """
    if mode not in SOFT_MODES:
        raise ValueError(f"soft_presets: mode must be one of {SOFT_MODES}, got {mode!r}")
    logits_BxW = logits_BxW.astype(jnp.float32)
    if mode == "gumbel":
        if key is None:
            raise ValueError("soft_presets: mode='gumbel' needs a PRNG key")
        # Logistic noise for binaries is the two-class Gumbel difference.
        logits_BxW = (logits_BxW + _gumbel_noise(key, logits_BxW.shape, layout)) / temperature
    noncat_BxN, cats = split_logits(logits_BxW, layout)
    is_bin_N = np.isin(layout.noncat_idx, layout.bin_idx)
    noncat_probs_BxN = jax.nn.sigmoid(noncat_BxN)
    cat_probs = [jax.nn.softmax(c, axis=1) for c in cats]
    if mode != "probs":
        hard_BxN = jnp.where(is_bin_N, jnp.round(noncat_probs_BxN), noncat_probs_BxN)
        noncat_probs_BxN = _straight_through(hard_BxN, noncat_probs_BxN)
        cat_probs = [
            _straight_through(jax.nn.one_hot(jnp.argmax(p, axis=1), p.shape[1]), p)
            for p in cat_probs
        ]
    return jnp.concatenate([noncat_probs_BxN, *cat_probs], axis=1)


def _straight_through(hard: jax.Array, soft: jax.Array) -> jax.Array:
    return soft + jax.lax.stop_gradient(hard - soft)


def _gumbel_noise(key: jax.Array, shape, layout: PresetLayout) -> jax.Array:
    """Gumbel noise on categorical columns, logistic noise on binary ones, none on numerical."""
    gumbel = jax.random.gumbel(key, shape)
    logistic = jax.random.logistic(jax.random.fold_in(key, 1), shape)
    starts = _column_groups(layout)
    kind = np.zeros(shape[1], np.int32)  # 0 numerical, 1 binary, 2 categorical
    kind[[starts[i] for i in layout.bin_idx]] = 1
    for i, c in zip(layout.cat_idx.tolist(), layout.cat_cards.tolist(), strict=True):
        kind[starts[i] : starts[i] + c] = 2
    return jnp.where(kind == 2, gumbel, jnp.where(kind == 1, logistic, 0.0))
