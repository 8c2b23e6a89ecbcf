"""A run's claim on its workdir: one run at a time, a killed run's lock is free, and a config or
input refused at the start leaves no workdir behind; every packaged config passes the checks."""

import os
import signal
import subprocess
import sys
import time

import pytest

from jaxproxy.configs import checks
from jaxproxy.configs import estimator as estimator_config
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.configs import proxy_finetune as finetune_config
from jaxproxy.configs import quickstart as quickstart_config
from jaxproxy.trainers import estimator, proxy, proxy_finetune
from tests.jaxproxy.fake_data import write_fake_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("workdir_data")
    write_fake_dataset(root / "train", num_examples=96, embedding_dim=8, formats=("array_record",))
    write_fake_dataset(root / "val", num_examples=48, embedding_dim=8, split="val", seed=1,
                       formats=("array_record",))  # fmt: skip
    return str(root / "train"), str(root / "val")


def _train_command(data_dirs, workdir, steps: int) -> list[str]:
    train, val = data_dirs
    return [
        sys.executable, "-c", "import sys; from jaxproxy.cli import main; sys.exit(main())",
        "train", "--config=proxy:encoder=mlp_oh,audio_model=fake,smoke", f"--workdir={workdir}",
        "--config.synth=fakesynth", f"--config.train_data={train}",
        f"--config.val_data={val}", f"--config.num_train_steps={steps}",
        "--config.checkpoint_every_steps=20", "--config.eval_every_steps=1000",
    ]  # fmt: skip


def test_second_run_in_a_workdir_is_refused_and_a_killed_run_frees_it(data_dirs, tmp_path):
    workdir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": ROOT}
    first = subprocess.Popen(
        _train_command(data_dirs, workdir, 100_000), env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.time() + 300
        while not (workdir / "checkpoints").is_dir():  # the first run is training
            assert first.poll() is None and time.time() < deadline, "the first run did not start"
            time.sleep(0.2)
        run_files = [workdir / n for n in (".lock", "config.json", "data.json", "synth_spec.json")]
        before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in run_files]
        second = subprocess.run(
            _train_command(data_dirs, workdir, 8), env=env, capture_output=True, text=True
        )
        lines = [x for x in second.stderr.splitlines() if x.strip()]
        assert second.returncode == 2 and len(lines) == 1, second.stderr[-2000:]
        assert lines[0].startswith(f"jaxproxy train: error: {workdir} is in use by pid ")
        assert f"pid {first.pid} on " in lines[0]  # names the running process
        assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in run_files] == before
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # kill -9 leaves the lock file but no lock: the same command resumes at once.
    third = subprocess.run(
        _train_command(data_dirs, workdir, 8), env=env, capture_output=True, text=True
    )
    assert third.returncode == 0, third.stderr[-2000:]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("batch_size", 0, "--config.batch_size=0: must be a whole number >= 1"),
        ("input_mode", "bogus", "--config.input_mode='bogus': must be one of auto, device, stream"),
        ("lr", float("nan"), "--config.lr=nan: must be a finite number > 0"),
        ("train_data", "nope", "--config.train_data=nope: no such dataset folder"),
    ],
)
def test_a_refused_start_leaves_no_workdir(data_dirs, tmp_path, field, value, expected):
    config = proxy_config.get_config("encoder=mlp_oh,smoke")
    config.synth, config.audio_model = "fakesynth", "fake"
    config.train_data, config.val_data = data_dirs
    setattr(config, field, value)
    workdir = tmp_path / "new" / "run"
    with pytest.raises((ValueError, OSError)) as refused:
        proxy.train_and_evaluate(config, str(workdir))
    assert expected in str(refused.value)
    assert os.listdir(tmp_path) == []  # neither the workdir nor its parent (was: run files)


def test_a_failure_after_the_lock_removes_the_folders_it_made(data_dirs, tmp_path):
    config = proxy_config.get_config("encoder=mlp_oh,smoke")
    config.synth, config.audio_model = "other", "fake"  # the dataset is fakesynth's
    config.train_data, config.val_data = data_dirs
    with pytest.raises(ValueError, match="synth.name"):
        proxy.train_and_evaluate(config, str(tmp_path / "new" / "run"))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "config",
    [
        *(
            proxy_config.get_config(f"encoder={e}{s}")
            for e in proxy_config.ENCODERS
            for s in ("", ",smoke")
        ),  # fmt: skip
        *(estimator_config.get_config(f"schedule={s}") for s in ("ploss", "mix", "switch")),
        estimator_config.get_config("smoke"),
        finetune_config.get_config(""),
        finetune_config.get_config("smoke"),
        quickstart_config.get_config("tfm"),
    ],
)
def test_every_packaged_config_passes_the_checks(config):
    checks.check_config(config)


def test_every_trainer_claims_its_workdir():
    for trainer in (proxy, estimator, proxy_finetune):
        assert trainer.train_and_evaluate.__wrapped__.__module__ == trainer.__name__
