"""Sound-matching losses against direct numpy statements of the reference's terms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxproxy import losses
from tests.jaxproxy.models.helpers import random_presets, synthetic_layout


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_parameter_loss_equals_l1_bce_and_smoothed_ce():
    layout = synthetic_layout()  # cat3 num bin cat5 num num cat2 bin
    logits = np.asarray(jax.random.normal(jax.random.key(0), (7, layout.onehot_width)) * 2)
    presets = random_presets(layout, 7, seed=1)
    total, parts = losses.parameter_loss(
        jnp.asarray(logits), jnp.asarray(presets), layout, label_smoothing=0.1
    )
    starts = np.concatenate([[0], np.cumsum(layout.used_widths)[:-1]])
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    num = [1, 4, 5]
    l1 = np.mean(np.abs(sig(logits[:, starts[num]]) - presets[:, num]))
    bins = [2, 7]
    z, y = logits[:, starts[bins]], presets[:, bins]
    bce = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    ce = 0.0
    for i, card in zip([0, 3, 6], [3, 5, 2], strict=True):
        target = (1 - 0.1) * np.eye(card)[presets[:, i].astype(int)] + 0.1 / card
        ce += np.mean(-(target * _log_softmax(logits[:, starts[i] : starts[i] + card])).sum(-1))
    assert float(parts["num_l1"]) == pytest.approx(l1, rel=1e-5)
    assert float(parts["bin_bce"]) == pytest.approx(bce, rel=1e-5)
    assert float(parts["cat_ce"]) == pytest.approx(ce, rel=1e-5)
    assert float(total) == pytest.approx(l1 + bce + 0.01 * ce, rel=1e-5)


def test_embedding_l1():
    a, b = jnp.ones((2, 3)), jnp.zeros((2, 3))
    assert float(losses.embedding_l1(a, b)) == 1.0
