"""The paper's five preset encoders (Table 2): MLP-OH, HN-OH, HN-PT, HN-PTGRU and TFM.

Every encoder maps presets float32[B, P] (the dataset's `params`) to embeddings float32[B, D],
or, with `soft=True`, soft presets float32[B, W] in the one-hot layout (probabilities for the
categorical and binary parameters; see `embeddings`). A hard preset that is not valid (a value
outside [0, 1], a category that is not an integer below its cardinality) gets a NaN embedding
row, since no error can be raised under jit. Defaults are the paper's "b" sizes. BatchNorm
follows `model.train()` / `model.eval()`.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
from flax import nnx

from jaxproxy.models import initializers as init
from jaxproxy.models.blocks import Dtype, HighwayNetwork, MLPBlock, linear, projection_head
from jaxproxy.models.embeddings import check_soft, nan_where_invalid, one_hot_encode, valid_presets
from jaxproxy.models.gru import BiGRU
from jaxproxy.models.layout import PresetLayout
from jaxproxy.models.tokenizer import PresetTokenizer
from jaxproxy.models.transformer import TransformerLayer, layer_norm


def _check_presets(presets: jax.Array, layout: PresetLayout, model: str, soft: bool) -> None:
    if soft:
        check_soft(presets, layout, model)
    elif presets.ndim != 2 or presets.shape[1] != layout.n_used:
        raise ValueError(
            f"{model}: presets must have shape (batch, {layout.n_used}) for synth "
            f"{layout.name!r}, got {presets.shape}"
        )


def _one_hot_input(presets: jax.Array, layout: PresetLayout, soft: bool, dtype) -> jax.Array:
    return presets.astype(dtype or jnp.float32) if soft else one_hot_encode(presets, layout, dtype)


def _as_output(emb_BxE: jax.Array, presets: jax.Array, layout: PresetLayout, soft: bool):
    # Embeddings leave in float32 whatever the compute dtype, so losses stay in float32.
    emb_BxE = emb_BxE.astype(jnp.float32)
    return emb_BxE if soft else nan_where_invalid(emb_BxE, valid_presets(presets, layout))


class MLPOneHot(nnx.Module):
    """MLP-OH: one-hot input, `num_layers` hidden layers of d_hidden (BN, ReLU, no bias), head."""

    def __init__(
        self,
        layout: PresetLayout,
        out_dim: int,
        *,
        d_hidden: int = 2048,
        num_layers: int = 2,
        dtype: Dtype = None,
        param_dtype: Dtype = jnp.float32,
        rngs: nnx.Rngs,
    ):
        if num_layers < 2 or num_layers % 2:
            raise ValueError(
                f"mlp_oh: num_layers must be a positive even number (MLP blocks hold 2 layers), "
                f"got {num_layers}"
            )
        dtypes = dict(dtype=dtype, param_dtype=param_dtype)
        self.layout = layout
        self.dtype = dtype
        widths = [layout.onehot_width] + [d_hidden] * (num_layers // 2)
        self.blocks = nnx.List(
            [MLPBlock(i, d_hidden, o, **dtypes, rngs=rngs) for i, o in itertools.pairwise(widths)]
        )
        self.head = projection_head(d_hidden, out_dim, **dtypes, rngs=rngs)

    def __call__(self, presets: jax.Array, *, soft: bool = False) -> jax.Array:
        _check_presets(presets, self.layout, "mlp_oh", soft)
        x_BxW = _one_hot_input(presets, self.layout, soft, self.dtype)
        for block in self.blocks:
            x_BxW = block(x_BxW)
        return _as_output(self.head(x_BxW), presets, self.layout, soft)


class HighwayOneHot(nnx.Module):
    """HN-OH: one-hot input into a highway network (first block plain, the rest gated)."""

    def __init__(
        self,
        layout: PresetLayout,
        out_dim: int,
        *,
        d_hidden: int = 768,
        num_layers: int = 6,
        dtype: Dtype = None,
        param_dtype: Dtype = jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.layout = layout
        self.dtype = dtype
        self.network = HighwayNetwork(
            layout.onehot_width,
            out_dim,
            d_hidden=d_hidden,
            num_layers=num_layers,
            dtype=dtype,
            param_dtype=param_dtype,
            rngs=rngs,
        )

    def __call__(self, presets: jax.Array, *, soft: bool = False) -> jax.Array:
        _check_presets(presets, self.layout, "hn_oh", soft)
        emb_BxE = self.network(_one_hot_input(presets, self.layout, soft, self.dtype))
        return _as_output(emb_BxE, presets, self.layout, soft)


class HighwayTokenizer(nnx.Module):
    """HN-PT: preset tokens (no CLS, no positions) flattened to P * d_token, into a highway net."""

    def __init__(
        self,
        layout: PresetLayout,
        out_dim: int,
        *,
        d_token: int = 64,
        d_hidden: int = 512,
        num_layers: int = 6,
        dtype: Dtype = None,
        param_dtype: Dtype = jnp.float32,
        rngs: nnx.Rngs,
    ):
        dtypes = dict(dtype=dtype, param_dtype=param_dtype)
        self.layout = layout
        self.tokenizer = PresetTokenizer(layout, d_token, **dtypes, rngs=rngs)
        self.network = HighwayNetwork(
            layout.n_used * d_token,
            out_dim,
            d_hidden=d_hidden,
            num_layers=num_layers,
            **dtypes,
            rngs=rngs,
        )

    def __call__(self, presets: jax.Array, *, soft: bool = False) -> jax.Array:
        _check_presets(presets, self.layout, "hn_pt", soft)
        tokens_BxPxD = self.tokenizer(presets, soft=soft)
        flat_BxPD = tokens_BxPxD.reshape(tokens_BxPxD.shape[0], -1)
        return _as_output(self.network(flat_BxPD), presets, self.layout, soft)


class HighwayTokenizerGRU(nnx.Module):
    """HN-PTGRU: tokens + sinusoidal positions -> BiGRU final states (d_token) -> highway net.

    The GRU has gru_hidden_factor * d_token // 2 units per direction.
    """

    def __init__(
        self,
        layout: PresetLayout,
        out_dim: int,
        *,
        d_token: int = 384,
        d_hidden: int = 768,
        num_layers: int = 6,
        gru_hidden_factor: float = 1,
        gru_unroll: int = 1,
        dtype: Dtype = None,
        param_dtype: Dtype = jnp.float32,
        rngs: nnx.Rngs,
    ):
        dtypes = dict(dtype=dtype, param_dtype=param_dtype)
        gru_hidden = int(gru_hidden_factor * d_token // 2)
        if gru_hidden < 1:
            raise ValueError(
                f"hn_ptgru: gru_hidden_factor * d_token // 2 must be >= 1, got {gru_hidden}"
            )
        self.layout = layout
        self.tokenizer = PresetTokenizer(layout, d_token, positional=True, **dtypes, rngs=rngs)
        self.gru = BiGRU(d_token, gru_hidden, unroll=gru_unroll, **dtypes, rngs=rngs)
        self.network = HighwayNetwork(
            2 * gru_hidden, out_dim, d_hidden=d_hidden, num_layers=num_layers, **dtypes, rngs=rngs
        )

    def __call__(self, presets: jax.Array, *, soft: bool = False) -> jax.Array:
        _check_presets(presets, self.layout, "hn_ptgru", soft)
        context_Bx2H = self.gru(self.tokenizer(presets, soft=soft))
        return _as_output(self.network(context_Bx2H), presets, self.layout, soft)


class TransformerEncoder(nnx.Module):
    """TFM: CLS + preset tokens + sinusoidal positions -> pre-LN transformer -> CLS -> LN/ReLU/head.

    No final encoder LayerNorm. The head weight is kaiming-normal (ReLU gain) and its bias keeps
    PyTorch's default U(+-1/sqrt(d_token)).
    """

    def __init__(
        self,
        layout: PresetLayout,
        out_dim: int,
        *,
        d_token: int = 256,
        num_layers: int = 6,
        num_heads: int = 8,
        d_ff: int = 1024,
        dtype: Dtype = None,
        param_dtype: Dtype = jnp.float32,
        rngs: nnx.Rngs,
    ):
        dtypes = dict(dtype=dtype, param_dtype=param_dtype)
        if num_layers < 1:
            raise ValueError(f"tfm: num_layers must be >= 1, got {num_layers}")
        self.layout = layout
        self.tokenizer = PresetTokenizer(
            layout, d_token, has_cls=True, positional=True, **dtypes, rngs=rngs
        )
        self.layers = nnx.List(
            [
                TransformerLayer(d_token, num_heads, d_ff, **dtypes, rngs=rngs)
                for _ in range(num_layers)
            ]
        )
        self.head_norm = layer_norm(d_token, **dtypes, rngs=rngs)
        self.head = linear(
            d_token,
            out_dim,
            kernel_init=init.kaiming_relu,
            use_bias=True,
            bias_init=init.torch_linear_bias(d_token),
            **dtypes,
            rngs=rngs,
        )

    def __call__(self, presets: jax.Array, *, soft: bool = False) -> jax.Array:
        _check_presets(presets, self.layout, "tfm", soft)
        tokens_BxTxD = self.tokenizer(presets, soft=soft)
        for layer in self.layers[:-1]:
            tokens_BxTxD = layer(tokens_BxTxD)
        # The head reads only the CLS token: the last layer computes nothing else.
        cls_BxD = self.layers[-1](tokens_BxTxD, first_token_only=True)[:, 0]
        emb_BxE = self.head(jax.nn.relu(self.head_norm(cls_BxD)))
        return _as_output(emb_BxE, presets, self.layout, soft)
