"""The GRU, transformer layer and BatchNorm match PyTorch's modules given the same weights.

Only the test imports torch (to state what "same as the reference" means); jaxproxy does not.
"""

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxproxy.models.blocks import BatchNorm
from jaxproxy.models.gru import BiGRU
from jaxproxy.models.transformer import TransformerLayer

torch = pytest.importorskip("torch")


def _np(t):
    return t.detach().numpy()


def test_bigru_matches_torch_gru():
    torch.manual_seed(0)
    ref = torch.nn.GRU(6, 5, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for p in ref.parameters():  # non-zero biases so their placement is checked too
            p.uniform_(-0.5, 0.5)
    gru = BiGRU(6, 5, rngs=nnx.Rngs(0))
    for d, suffix in enumerate(("", "_reverse")):
        for name in ("w_ih", "w_hh", "b_ih", "b_hh"):
            kind = name[2:]
            source = _np(
                getattr(ref, f"{'weight' if name[0] == 'w' else 'bias'}_{kind}_l0{suffix}")
            )
            variable = getattr(gru, name)
            variable.value = variable.value.at[d].set(source.T if name[0] == "w" else source)
    x = np.random.default_rng(0).normal(size=(3, 7, 6)).astype(np.float32)
    _, h_n = ref(torch.from_numpy(x))
    expected = np.concatenate([_np(h_n[0]), _np(h_n[1])], axis=-1)
    np.testing.assert_allclose(gru(jnp.asarray(x)), expected, rtol=1e-5, atol=1e-5)


def test_transformer_layer_matches_torch_pre_ln_layer():
    torch.manual_seed(0)
    d, heads, ff = 16, 4, 32
    ref = torch.nn.TransformerEncoderLayer(
        d, heads, ff, dropout=0.0, activation="relu", batch_first=True, norm_first=True
    ).eval()
    with torch.no_grad():
        for p in ref.parameters():
            p.uniform_(-0.3, 0.3)
    layer = TransformerLayer(d, heads, ff, rngs=nnx.Rngs(0))
    pairs = [
        (layer.qkv, ref.self_attn.in_proj_weight, ref.self_attn.in_proj_bias),
        (layer.attn_out, ref.self_attn.out_proj.weight, ref.self_attn.out_proj.bias),
        (layer.ff_in, ref.linear1.weight, ref.linear1.bias),
        (layer.ff_out, ref.linear2.weight, ref.linear2.bias),
    ]
    for linear, weight, bias in pairs:
        linear.kernel.value, linear.bias.value = jnp.asarray(_np(weight).T), jnp.asarray(_np(bias))
    for norm, ref_norm in ((layer.norm_attn, ref.norm1), (layer.norm_ff, ref.norm2)):
        assert ref_norm.eps == 1e-5
        norm.scale.value, norm.bias.value = (
            jnp.asarray(_np(ref_norm.weight)),
            jnp.asarray(_np(ref_norm.bias)),
        )
    x = np.random.default_rng(0).normal(size=(2, 9, d)).astype(np.float32)
    with torch.no_grad():
        expected = _np(ref(torch.from_numpy(x)))
    np.testing.assert_allclose(layer(jnp.asarray(x)), expected, rtol=1e-4, atol=1e-5)


def test_batchnorm_matches_torch_batchnorm1d_over_steps():
    ref = torch.nn.BatchNorm1d(4)  # eps 1e-5, momentum 0.1
    bn = BatchNorm(4)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = (rng.normal(size=(8, 4)) * 3 + 1).astype(np.float32)
        np.testing.assert_allclose(bn(jnp.asarray(x)), _np(ref(torch.from_numpy(x))), atol=1e-5)
    np.testing.assert_allclose(bn.mean.value, _np(ref.running_mean), rtol=1e-5)
    np.testing.assert_allclose(bn.var.value, _np(ref.running_var), rtol=1e-5)
    ref.eval()
    bn.use_running_average = True
    x = rng.normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(bn(jnp.asarray(x)), _np(ref(torch.from_numpy(x))), atol=1e-5)
