"""Refinement through the proxy: starts at the prediction, never returns worse, batch = single."""

import numpy as np
import pytest

from jaxproxy import export, load_proxy
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.matching.refine import refine_presets
from jaxproxy.models.estimator import decode_presets
from jaxproxy.models.layout import PresetLayout
from jaxproxy.trainers import proxy
from tests.jaxproxy.fake_data import fake_synth_json

EMB = 8


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    spec_json = fake_synth_json()
    layout = PresetLayout.from_spec_json(spec_json)
    config = proxy_config.get_config("encoder=hn_oh,smoke")
    model = proxy.build_model(config, layout, EMB)
    folder = export.export_model(str(tmp_path_factory.mktemp("proxy")), model,
                                 config=config.to_dict(), spec_json=spec_json,
                                 embedding_dim=EMB)  # fmt: skip
    return load_proxy(folder), layout


def _case(layout, proxy, n=3, seed=0):
    rng = np.random.default_rng(seed)
    width = int(layout.used_widths.sum())
    logits = rng.normal(size=(n, width)).astype(np.float32)
    # Targets: the embeddings of other random presets, so there is something to move towards.
    other = np.asarray(decode_presets(rng.normal(size=(n, width)).astype(np.float32) * 3, layout))
    return logits, np.asarray(proxy(other))


def test_zero_steps_is_the_estimators_prediction(setup):
    proxy, layout = setup
    logits, target = _case(layout, proxy)
    out = refine_presets(proxy, layout, logits, target, 0)
    np.testing.assert_array_equal(out.presets, np.asarray(decode_presets(logits, layout)))
    assert (out.best_steps == 0).all() and out.hard_losses.shape == (1, 3)


def test_refinement_lowers_the_proxy_loss_and_never_returns_worse(setup):
    proxy, layout = setup
    logits, target = _case(layout, proxy)
    out = refine_presets(proxy, layout, logits, target, 40, learning_rate=0.1)
    assert out.hard_losses.shape == (41, 3)
    np.testing.assert_allclose(out.losses, out.hard_losses.min(axis=0))
    assert (out.losses <= out.hard_losses[0]).all()
    assert (out.losses < out.hard_losses[0]).any()  # the soft gradient found better hard presets
    again = np.asarray(proxy(out.presets))
    np.testing.assert_allclose(np.abs(again - target).mean(axis=1), out.losses, rtol=1e-5)


def test_a_batch_refines_each_sound_as_alone(setup):
    proxy, layout = setup
    logits, target = _case(layout, proxy, n=2, seed=1)
    batch = refine_presets(proxy, layout, logits, target, 6)
    for k in range(len(logits)):
        alone = refine_presets(proxy, layout, logits[k : k + 1], target[k : k + 1], 6)
        np.testing.assert_allclose(alone.hard_losses[:, 0], batch.hard_losses[:, k], rtol=1e-5)
        np.testing.assert_allclose(alone.presets[0], batch.presets[k], atol=1e-6)
