"""Trainer tests: the smoke config trains, and an interrupted run resumes to the same parameters."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import orbax.checkpoint as ocp
import pytest

from jaxproxy import run_files
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.trainers import proxy
from tests.jaxproxy.fake_data import write_fake_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("proxy_data")
    write_fake_dataset(root / "train", num_examples=96, embedding_dim=8, formats=("array_record",))
    write_fake_dataset(
        root / "val",
        num_examples=48,
        embedding_dim=8,
        split="val",
        formats=("array_record",),
        seed=1,
    )
    return str(root / "train"), str(root / "val")


def _overrides(data_dirs) -> dict:
    train, val = data_dirs
    return {"synth": "fakesynth", "audio_model": "fake", "train_data": train, "val_data": val}


def _smoke_config(data_dirs, encoder="tfm", **extra):
    config = proxy_config.get_config(f"encoder={encoder},smoke")
    for key, value in {**_overrides(data_dirs), **extra}.items():
        setattr(config, key, value)
    return config


def _final_params(workdir: str, step: int) -> dict:
    path = os.path.join(workdir, "checkpoints", "latest", str(step), "state")
    return ocp.StandardCheckpointer().restore(path)["params"]


def _assert_trees_equal(a, b):
    flat_a, flat_b = _flatten(a), _flatten(b)
    assert flat_a.keys() == flat_b.keys()
    for key in flat_a:
        np.testing.assert_allclose(flat_a[key], flat_b[key], rtol=0, atol=1e-6, err_msg=key)


def _flatten(tree, prefix=""):
    if isinstance(tree, dict):
        return {
            k: v for key, sub in tree.items() for k, v in _flatten(sub, f"{prefix}/{key}").items()
        }
    return {prefix: np.asarray(tree)}


def _saved_steps(workdir) -> list[int]:
    """Finalised checkpoints only (orbax writes into *.orbax-checkpoint-tmp, then renames)."""
    return sorted(
        int(s) for s in os.listdir(os.path.join(workdir, "checkpoints", "latest")) if s.isdigit()
    )


class _KilledError(Exception):
    pass


def _train_until_killed(config, workdir: str, monkeypatch, at_batch: int) -> None:
    """Trains until the iterator is asked for batch `at_batch` (1-based), then dies."""
    real_factory = proxy.make_train_iterator

    def dying_factory(*args, **kwargs):
        iterator = real_factory(*args, **kwargs)
        real_next, calls = iterator.__next__, [0]

        class Dying(type(iterator)):
            def __next__(self):
                calls[0] += 1
                if calls[0] == at_batch:
                    raise _KilledError
                return real_next()

        iterator.__class__ = Dying
        return iterator

    with monkeypatch.context() as patch:
        patch.setattr(proxy, "make_train_iterator", dying_factory)
        with pytest.raises(_KilledError):
            proxy.train_and_evaluate(config, workdir)


def test_interrupted_run_resumes_at_the_next_batch(data_dirs, tmp_path, monkeypatch):
    config = _smoke_config(data_dirs, encoder="hn_oh")  # BatchNorm: batch stats must resume too
    uninterrupted = proxy.train_and_evaluate(config, str(tmp_path / "a"))
    assert uninterrupted["step"] == 12 and 0 < uninterrupted["mrr"] <= 1

    # Second run dies while fetching the 8th batch, after the checkpoint at step 6 and before
    # any later one: no final save, like a kill.
    _train_until_killed(config, str(tmp_path / "b"), monkeypatch, at_batch=8)
    assert _saved_steps(tmp_path / "b") == [4, 6]

    resumed = proxy.train_and_evaluate(config, str(tmp_path / "b"))
    assert resumed["step"] == 12
    _assert_trees_equal(
        _final_params(str(tmp_path / "a"), 12), _final_params(str(tmp_path / "b"), 12)
    )
    assert resumed["l1"] == pytest.approx(uninterrupted["l1"], abs=1e-6)

    with open(tmp_path / "a" / run_files.CONFIG_FILE) as f:
        assert json.load(f)["encoder"] == "hn_oh"
    assert os.listdir(tmp_path / "a" / "checkpoints" / "best_mrr")
    _assert_tensorboard_and_curves(tmp_path / "a", tmp_path / "b")


def test_several_steps_per_call_resume_exactly(data_dirs, tmp_path, monkeypatch):
    """The paper config's steps_per_call = 4: saves fall on call boundaries, resume is exact."""
    assert proxy_config.get_config("encoder=hn_oh").steps_per_call == 4
    config = _smoke_config(data_dirs, encoder="hn_oh", steps_per_call=4)
    uninterrupted = proxy.train_and_evaluate(config, str(tmp_path / "a"))
    assert uninterrupted["step"] == 12
    # Calls end at steps 4, 8, 12; dying inside the second call leaves only the save at step 4.
    _train_until_killed(config, str(tmp_path / "b"), monkeypatch, at_batch=7)
    assert _saved_steps(tmp_path / "b") == [4]
    resumed = proxy.train_and_evaluate(config, str(tmp_path / "b"))
    assert resumed["step"] == 12
    _assert_trees_equal(
        _final_params(str(tmp_path / "a"), 12), _final_params(str(tmp_path / "b"), 12)
    )
    with open(tmp_path / "a" / "curves.json") as f:
        assert [p[0] for p in json.load(f)["val/mrr"]] == [8, 12]  # eval_every 6 -> next boundary


def _assert_tensorboard_and_curves(workdir, resumed_workdir):
    """Config as hparams, curves as an image and a PNG; a resumed run's curves are whole."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(workdir / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert "curves" in events.Tags()["images"]
    assert {"train/loss", "val/mrr", "val/l1"} <= set(events.Tags()["scalars"])
    hparams = events.PluginTagToContent("hparams")
    assert "_hparams_/session_start_info" in hparams
    assert b"schedule.constant_steps" in hparams["_hparams_/session_start_info"]
    assert (workdir / run_files.CURVES_FILE).stat().st_size > 1000
    with open(workdir / "curves.json") as f, open(resumed_workdir / "curves.json") as g:
        whole, resumed = json.load(f), json.load(g)
    assert [p[0] for p in whole["val/mrr"]] == [6, 12]
    for name in ("train/loss", "val/mrr"):
        assert [p[0] for p in resumed[name]] == [p[0] for p in whole[name]]


def test_non_finite_loss_names_the_step(data_dirs, tmp_path):
    config = _smoke_config(data_dirs, encoder="mlp_oh", lr=1e30)
    with pytest.raises(FloatingPointError, match=r"non-finite training loss at step \d+"):
        proxy.train_and_evaluate(config, str(tmp_path))


def _main_command(data_dirs, workdir: str, steps: int) -> list[str]:
    flags = [f"--config.{k}={v}" for k, v in _overrides(data_dirs).items()]
    flags += [
        f"--config.num_train_steps={steps}",
        "--config.checkpoint_every_steps=20",
        "--config.eval_every_steps=100",
        "--config.log_every_steps=20",
    ]
    config = "proxy:encoder=mlp_oh,smoke"
    return [
        sys.executable,
        "-m",
        "jaxproxy.main",
        f"--config={config}",
        f"--workdir={workdir}",
        *flags,
    ]


@pytest.mark.slow
def test_sigkill_and_rerun_the_same_command(data_dirs, tmp_path):
    steps = 400
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8")
    run = lambda wd: subprocess.run(
        _main_command(data_dirs, wd, steps), cwd=ROOT, env=env, check=True, capture_output=True
    )  # noqa: E501
    run(str(tmp_path / "a"))

    killed = str(tmp_path / "b")
    proc = subprocess.Popen(
        _main_command(data_dirs, killed, steps),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # noqa: E501
    latest = os.path.join(killed, "checkpoints", "latest")
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if os.path.isdir(latest) and max(_saved_steps(killed), default=0) >= 40:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed; raise `steps`"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert max(_saved_steps(killed)) < steps
    run(killed)
    _assert_trees_equal(_final_params(str(tmp_path / "a"), steps), _final_params(killed, steps))


def test_plateau_schedule_steps_on_the_epoch_end_validation_l1(data_dirs, tmp_path):
    # The reference's SSM proxies: constant lr, ReduceLROnPlateau on val L1 stepped per epoch.
    # Smoke: 6 steps per epoch, validations at steps 6 and 12 (both end an epoch).
    config = _smoke_config(data_dirs, encoder="hn_oh", lr_schedule="plateau")
    proxy.train_and_evaluate(config, str(tmp_path))
    curves = json.loads((tmp_path / "curves.json").read_text())
    l1 = [value for _, value in curves["val/l1"]]
    path = os.path.join(str(tmp_path), "checkpoints", "latest", "12", "state")
    plateau = ocp.StandardCheckpointer().restore(path)["opt_state"][-1]  # chain(adamw, plateau)
    assert len(l1) == 2 and float(plateau["best"]) == pytest.approx(min(l1), rel=1e-6)
    config = _smoke_config(data_dirs, encoder="hn_oh", lr_schedule="cosine")
    with pytest.raises(ValueError, match="lr_schedule.*must be one of"):
        proxy.train_and_evaluate(config, str(tmp_path / "bad"))
