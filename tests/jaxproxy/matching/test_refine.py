"""Refinement through the proxy: starts at the prediction, never returns worse, batch = single."""

import numpy as np
import pytest

from jaxproxy import export, load_proxy, models
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.matching.refine import refine_presets
from jaxproxy.models.estimator import decode_presets
from jaxproxy.models.layout import PresetLayout
from tests.jaxproxy.fake_data import fake_synth_json

EMB = 8


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    spec_json = fake_synth_json()
    layout = PresetLayout.from_spec_json(spec_json)
    config = proxy_config.get_config("encoder=hn_oh,smoke")
    model = models.build_proxy(config, layout, EMB)
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


def test_candidates_are_distinct_best_first_and_hold_the_prediction(setup):
    proxy, layout = setup
    logits, target = _case(layout, proxy, seed=2)
    out = refine_presets(proxy, layout, logits, target, 20, learning_rate=0.2, candidates=4)
    assert out.candidates.shape[:2] == (3, 4)
    np.testing.assert_array_equal(out.candidates[:, 0], np.asarray(decode_presets(logits, layout)))
    for j in range(3):
        real = out.candidate_steps[j] >= 0
        rows = out.candidates[j][real]
        assert len(np.unique(rows, axis=0)) == len(rows)  # no preset twice
        losses = out.hard_losses[out.candidate_steps[j][real][1:], j]
        assert (np.diff(losses) >= 0).all()  # after the prediction, lowest proxy loss first


class _FakeClient:
    """Renders a preset as a tone whose level follows its first value (no synth needed)."""

    def render(self, presets_NxP):
        t = np.arange(32000) / 32000
        freq = 200 + 400 * presets_NxP[:, 1:2]
        audio = np.sin(2 * np.pi * freq * t) * (0.1 + presets_NxP[:, :1])
        return audio.astype(np.float32), np.zeros(len(presets_NxP), bool)


def test_pick_by_audio_keeps_the_closest_render_ignoring_level():
    from jaxproxy.matching.refine import pick_by_audio

    cands = np.array([[[0.0, 0.0], [0.9, 0.5], [0.2, 0.9]]], np.float32)  # [1, 3, 2]
    target, _ = _FakeClient().render(np.array([[0.0, 0.5]], np.float32))  # loud-agnostic: 400 Hz
    presets, index, audio = pick_by_audio(_FakeClient(), cands, target * 0.01)
    assert index.tolist() == [1]
    np.testing.assert_array_equal(presets[0], cands[0, 1])
    assert audio.shape == (1, 32000)
