"""Estimator trainer: the smoke config trains through a reloaded proxy and resumes exactly."""

import json
import os

import jax
import numpy as np
import pytest

from jaxproxy import export, load_proxy, models, run_files, schedules, sharding, train_state
from jaxproxy.checkpointing import ESTIMATOR_BEST_MODES, Checkpointer, abstract_like
from jaxproxy.configs import estimator as estimator_config
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.data.splits import random_split_lengths, split_indices
from jaxproxy.models import functional
from jaxproxy.models.estimator import build_estimator
from jaxproxy.models.layout import PresetLayout
from jaxproxy.trainers import estimator, estimator_step, split_training
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
    model = models.build_proxy(config, PresetLayout.from_spec_json(fake_synth_json()), EMB)
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
    facts = json.loads((tmp_path / "a" / run_files.DATA_FILE).read_text())
    assert facts["monitor"] == "a_l1"  # monitor=auto on a synth that does not render here
    assert (tmp_path / "a" / run_files.CURVES_FILE).stat().st_size > 1000


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


def test_split_sizes_and_ramp_follow_the_reference():
    # torch random_split sizes: the paper's 27,609 Dexed presets -> 90 % train split 24,849 ->
    # its 89 % training part 22,116, the N of configs/ssm/train/synth/dexed.yaml; Diva's N 7,721
    # is likewise the training part of an 8,675-preset train split. The ramp (facts 9.4) then
    # starts at step 69,043 of 207,337 and lasts 68,421 steps, as in the reference.
    assert random_split_lengths(27_609, (0.9, 0.1)) == [24_849, 2_760]
    train, val = split_indices(24_849, 0.89, seed=42)
    assert (len(train), len(val)) == (22_116, 2_733)
    assert len(split_indices(8_675, 0.89, seed=42)[0]) == 7_721
    _, w_a = schedules.loss_weight_schedules("switch", 600 * len(train) // 64)
    assert float(w_a(69_043)) == 0.0 < float(w_a(69_044))
    assert float(w_a(69_043 + 68_420)) < 10.0 == float(w_a(69_043 + 68_421))


def test_validation_keeps_the_last_partial_batch(setup):
    # 17 validation examples in batches of 8: the reference's loader keeps the 17th.
    config = _config(setup)
    ds, _, val_arrays = split_training.load_splits(config, estimator.FEATURES)
    assert len(val_arrays["params"]) % config.eval_batch_size
    proxy = load_proxy(config.proxy)
    model = build_estimator(config, ds.layout, -80.0, 0.0)
    model_def, params, batch_stats = functional.split_model(model)
    state = train_state.init_estimator_state(
        params, batch_stats, train_state.estimator_optimizer(config)
    )
    mesh = sharding.make_mesh()
    eval_fn = estimator_step.make_eval_step(model_def, ds.layout, proxy, config)
    metrics = split_training.Validator(val_arrays, config, mesh, eval_fn, proxy.weights)(state)
    everything = jax.device_get(jax.jit(eval_fn)(state, proxy.weights, val_arrays))
    for name, value in everything.items():
        assert metrics[name] == pytest.approx(float(value), rel=1e-5), name


def test_ploss_never_loads_the_proxy(setup, tmp_path):
    # The reference's PLoss runs no proxy: neither in its loss nor for its LR or checkpoint.
    config = _config(setup, schedule="ploss", proxy=str(tmp_path / "no_proxy_here"))
    result = estimator.train_and_evaluate(config, str(tmp_path / "p"))
    assert result["step"] == 12 and "a_l1" not in result and np.isfinite(result["loss_p"])
    facts = json.loads((tmp_path / "p" / run_files.DATA_FILE).read_text())
    assert facts["monitor"] == "loss_p" and facts["proxy"] is None  # fakesynth cannot render
    assert os.listdir(tmp_path / "p" / "checkpoints" / "best_loss_p")
    assert not os.listdir(tmp_path / "p" / "checkpoints" / "best_a_l1")
    config = _config(setup, schedule="ploss", monitor="a_l1")
    with pytest.raises(ValueError, match="monitor=a_l1 needs the proxy"):
        estimator.train_and_evaluate(config, str(tmp_path / "q"))


@pytest.fixture(scope="module")
def rendered_run(tmp_path_factory):
    """A Switch run on minisub (renders here) with monitor=auto; the validation part holds the
    log-mel's maximum."""
    from data_gen.synths.registry import get_spec
    from data_gen.synths.sampling import PresetSampler

    root = tmp_path_factory.mktemp("rendered")
    spec = get_spec("minisub").to_json()
    num = 96
    arrays = fake_arrays(num, EMB, seed=1)
    arrays["params"] = PresetSampler(get_spec("minisub"), seed=3).sample_batch(np.arange(num))
    rng = np.random.default_rng(1)
    arrays["mel"] = rng.uniform(-60, -20, (num, MELS, FRAMES)).astype(np.float32)
    val_idx = split_indices(num, 0.89, seed=42)[1]
    arrays["mel"][val_idx[0], 0, 0] = 5.0  # the maximum sits in the validation part
    write_fake_dataset(root / "train", arrays=arrays, formats=("array_record",), synth=spec)
    proxy_cfg = proxy_config.get_config("encoder=hn_oh,smoke")
    model = models.build_proxy(proxy_cfg, PresetLayout.from_spec_json(spec), EMB)
    folder = export.export_model(str(root / "proxy"), model, config=proxy_cfg.to_dict(),
                                 spec_json=spec, embedding_dim=EMB)  # fmt: skip
    config = estimator_config.get_config("synth=minisub,schedule=switch,smoke")
    for key, value in dict(audio_model="fake", train_data=str(root / "train"), proxy=folder,
                           render_val_examples=4).items():  # fmt: skip
        setattr(config, key, value)
    workdir = root / "run"
    return estimator.train_and_evaluate(config, str(workdir)), workdir


def test_rendered_a_mean_drives_the_plateau_and_the_exported_checkpoint(rendered_run, tmp_path):
    from jaxproxy.export_estimator import export_estimator

    result, workdir = rendered_run
    facts = json.loads((workdir / run_files.DATA_FILE).read_text())
    assert facts["monitor"] == "a_mean" and facts["num_rendered_val"] == 4
    assert result["step"] == 12 and np.isfinite(result["a_mean"]) and "stft" in result
    assert os.listdir(workdir / "checkpoints" / "best_a_mean")
    curves = json.loads((workdir / "curves.json").read_text())
    a_mean = dict(curves["val/a_mean"])  # rendered at both validations (steps 6 and 12)
    assert sorted(a_mean) == [6, 12]
    # The latest checkpoint (step 12) holds the plateau fed with step 6's rendered a_mean.
    ckpt = Checkpointer(str(workdir / "checkpoints"), best_modes=ESTIMATOR_BEST_MODES)
    config = estimator_config.get_config("synth=minisub,schedule=switch,smoke")
    layout = PresetLayout.from_spec_json(json.loads((workdir / run_files.SPEC_FILE).read_text()))
    model = build_estimator(config, layout, facts["mel_min"], facts["mel_max"])
    _, params, batch_stats = functional.split_model(model)
    tx = train_state.estimator_optimizer(config)
    abstract = abstract_like(train_state.init_estimator_state(params, batch_stats, tx))
    state, _, step = ckpt.restore(abstract)
    ckpt.close()
    assert step == 12 and float(state.plateau.best) == pytest.approx(a_mean[6], rel=1e-6)
    folder = export_estimator(str(workdir), str(tmp_path / "e"))
    info = json.loads((tmp_path / "e" / "estimator.json").read_text())
    assert folder.rstrip("/").endswith("e")
    assert info["checkpoint"] == "best_a_mean"


def test_mel_scaling_covers_the_validation_part(rendered_run):
    # The reference's stats_train.pkl: min/max over the whole hand-crafted train split.
    _, workdir = rendered_run
    facts = json.loads((workdir / run_files.DATA_FILE).read_text())
    assert facts["mel_max"] == 5.0 and facts["mel_min"] >= -60.0
