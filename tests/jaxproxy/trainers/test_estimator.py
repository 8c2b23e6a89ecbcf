"""Estimator trainer: the smoke config trains through a reloaded proxy and resumes exactly."""

import os

import numpy as np
import pytest

from jaxproxy import export
from jaxproxy.configs import estimator as estimator_config
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.models.layout import PresetLayout
from jaxproxy.trainers import estimator, proxy
from tests.jaxproxy.fake_data import fake_arrays, fake_synth_json, write_fake_dataset
from tests.jaxproxy.trainers.test_proxy import _assert_trees_equal, _final_params, _KilledError

EMB, MELS, FRAMES = 8, 128, 24


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("estimator")
    arrays = fake_arrays(160, EMB, seed=0)
    rng = np.random.default_rng(0)
    # A log-mel that depends on the preset, so the parameter loss has something to learn.
    base = rng.standard_normal((5, MELS, FRAMES)).astype(np.float32)
    arrays["mel"] = -40 + 10 * np.einsum("bp,pmt->bmt", arrays["params"], base).astype(np.float32)
    write_fake_dataset(root / "train", arrays=arrays, formats=("array_record",))
    config = proxy_config.get_config("encoder=tfm,smoke")
    model = proxy.build_model(config, PresetLayout.from_spec_json(fake_synth_json()), EMB)
    folder = export.export_model(
        str(root / "proxy"),
        model,
        config=config.to_dict(),
        spec_json=fake_synth_json(),
        embedding_dim=EMB,
    )
    return str(root / "train"), folder


def _config(setup, **extra):
    train, proxy_dir = setup
    config = estimator_config.get_config(f"schedule={extra.pop('schedule', 'switch')},smoke")
    overrides = dict(synth="fakesynth", audio_model="fake", train_data=train, proxy=proxy_dir)
    for key, value in {**overrides, **extra}.items():
        setattr(config, key, value)
    return config


def test_interrupted_estimator_run_resumes_to_the_same_parameters(setup, tmp_path, monkeypatch):
    # Switch with the ramp inside the 12 steps: both losses are active at some point.
    config = _config(setup, ramp_start_frac=0.25, ramp_warm_frac=0.25)
    whole = estimator.train_and_evaluate(config, str(tmp_path / "a"))
    assert whole["step"] == 12 and np.isfinite(whole["a_l1"]) and np.isfinite(whole["loss_p"])

    real_factory = estimator.make_train_iterator

    def dying_factory(*args, **kwargs):
        iterator = real_factory(*args, **kwargs)
        real_next, calls = iterator.__next__, [0]

        class Dying(type(iterator)):
            def __next__(self):
                calls[0] += 1
                if calls[0] == 8:
                    raise _KilledError
                return real_next()

        iterator.__class__ = Dying
        return iterator

    monkeypatch.setattr(estimator, "make_train_iterator", dying_factory)
    with pytest.raises(_KilledError):
        estimator.train_and_evaluate(config, str(tmp_path / "b"))
    monkeypatch.setattr(estimator, "make_train_iterator", real_factory)
    resumed = estimator.train_and_evaluate(config, str(tmp_path / "b"))
    assert resumed["step"] == 12
    _assert_trees_equal(
        _final_params(str(tmp_path / "a"), 12), _final_params(str(tmp_path / "b"), 12)
    )
    assert resumed["a_l1"] == pytest.approx(whole["a_l1"], abs=1e-6)
    assert os.listdir(tmp_path / "a" / "checkpoints" / "best_a_l1")
    assert (tmp_path / "a" / estimator.CURVES_FILE).stat().st_size > 1000


@pytest.mark.parametrize("audio_input", ["probs", "gumbel"])
def test_soft_audio_input_and_ploss_train(setup, tmp_path, audio_input):
    config = _config(setup, audio_input=audio_input, num_train_steps=4, eval_every_steps=4)
    assert np.isfinite(estimator.train_and_evaluate(config, str(tmp_path / "s"))["a_l1"])


def test_wrong_proxy_or_dataset_is_named(setup, tmp_path):
    config = _config(setup, proxy=str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError, match="nothing"):
        estimator.train_and_evaluate(config, str(tmp_path / "x"))


def test_proxy_finetune_trains_and_exports_a_loadable_proxy(setup, tmp_path):
    from jaxproxy import load_proxy
    from jaxproxy.configs import proxy_finetune as finetune_config
    from jaxproxy.trainers import proxy_finetune

    train, proxy_dir = setup
    config = finetune_config.get_config("smoke")
    for key, value in dict(
        synth="fakesynth", audio_model="fake", train_data=train, init_from=proxy_dir
    ).items():
        setattr(config, key, value)
    result = proxy_finetune.train_and_evaluate(config, str(tmp_path))
    assert result["step"] == 8 and np.isfinite(result["l1"])
    before, after = load_proxy(proxy_dir), load_proxy(str(tmp_path / "export"))
    presets = fake_arrays(4, EMB, seed=9)["params"]
    assert not np.allclose(before(presets), after(presets))  # trained, and reloadable
