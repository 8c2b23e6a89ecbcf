"""Packaged configs: found by name from any directory, old `configs/x.py` spelling, clear errors."""

import json
import os
import subprocess
import sys

import pytest

from jaxproxy import configs
from jaxproxy.configs import quickstart
from jaxproxy.trainers.proxy import check_sizes

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_names_and_old_paths_resolve_to_the_packaged_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the repository root
    packaged = os.path.join(configs.PACKAGE_DIR, "proxy.py")
    assert {"proxy", "quickstart"} <= set(configs.available())
    assert not {"arguments", "checks"} & set(configs.available())  # helpers, not configs
    assert configs.resolve("proxy:encoder=tfm,smoke") == packaged + ":encoder=tfm,smoke"
    assert configs.resolve("configs/proxy.py:encoder=tfm") == packaged + ":encoder=tfm"
    assert configs.resolve("proxy.py") == packaged
    own = tmp_path / "mine.py"
    own.write_text("def get_config(arg=None):\n    return {}\n")
    assert configs.resolve(f"{own}:x") == f"{own}:x"  # a real file wins
    with pytest.raises(ValueError, match="packaged: .*proxy"):
        configs.resolve("prox:encoder=tfm")
    with pytest.raises(ValueError, match="neither a config file"):
        configs.resolve("elsewhere/proxy.py")  # another folder is not silently replaced


def test_config_flag_loads_by_name_with_overrides_from_another_directory(tmp_path):
    code = (
        "from absl import flags\n"
        "from jaxproxy.configs import define_config_flag\n"
        "define_config_flag('config')\n"
        "import sys; flags.FLAGS(sys.argv)\n"
        "c = flags.FLAGS.config\n"
        "print(c.encoder, c.batch_size, c.num_train_steps)\n"
    )
    args = ["--config=proxy:encoder=hn_oh,smoke", "--config.batch_size=8"]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["hn_oh", "8", "12"]


def test_quickstart_argument_forms():
    assert quickstart.get_config("tfm").encoder == "tfm"
    config = quickstart.get_config("synth=dx7,encoder=hn_pt,audio_model=mfcc40")
    assert (config.synth, config.encoder, config.audio_model) == ("dx7", "hn_pt", "mfcc40")
    assert config.lr == 7e-3  # dx7 borrows Dexed's HN-PT learning rate
    assert quickstart.get_config().encoder == "hn_oh"


def test_check_sizes_names_the_knob():
    config = quickstart.get_config()
    check_sizes(config, 16_384, 4_096)
    with pytest.raises(ValueError, match="batch_size=256"):
        check_sizes(config, 100, 4_096)
    with pytest.raises(ValueError, match="val_num_ranks=256"):
        check_sizes(config, 16_384, 511)
    with config.unlocked():
        config.schedule.constant_steps = 10_000
    with pytest.raises(ValueError, match="constant_steps=10000.*num_epochs=20"):
        check_sizes(config, 16_384, 4_096)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--val-size=300"], "val_num_ranks"),
        (["--train-size=300", "--epochs=2"], "constant_steps"),
        (["--encoder=cnn"], "encoder must be one of"),
        (["--test-size=1"], "--test-size"),
    ],
)
def test_quickstart_checks_knobs_before_rendering(tmp_path, flags, message):
    workdir = tmp_path / "qs"
    done = subprocess.run(
        [sys.executable, "-m", "experiments.quickstart", f"--workdir={workdir}", *flags],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not workdir.exists()  # nothing rendered, nothing written


def test_a_spec_file_is_a_synth(tmp_path):
    # `synth=path.json` (jaxproxy-data synth describe): the spec's name, which its datasets carry,
    # and the borrowed hyperparameters of a paper synth; a bad file is named in the error.
    from data_gen.synths.registry import get_spec
    from jaxproxy.configs import estimator, proxy, proxy_finetune

    spec_json = get_spec("minisub").to_json() | {"name": "my_synth", "review": {}}
    path = tmp_path / "my_synth.json"
    path.write_text(json.dumps(spec_json))
    c = proxy.get_config(f"synth={path},encoder=hn_oh,audio_model=mel128")
    assert (c.synth, c.train_data) == ("my_synth", "data/my_synth_mel128_train")
    assert c.lr == proxy.PAPER_HPARAMS[("talnm", "hn_oh")][0]
    e = estimator.get_config(f"synth={path}")
    assert (e.synth, e.lr) == ("my_synth", estimator.PAPER_HPARAMS["dexed"][0])
    assert proxy_finetune.get_config(f"synth={path}").synth == "my_synth"
    with pytest.raises(ValueError, match=r"synth=.*nope\.json: spec file .*no such file"):
        proxy.get_config(f"synth={tmp_path / 'nope.json'}")
    with pytest.raises(ValueError, match="or a spec file"):
        proxy.get_config("synth=nekobi")


def test_an_unknown_override_names_the_field_and_the_near_ones():
    from jaxproxy.configs import proxy as proxy_config

    config = proxy_config.get_config("smoke")
    unknown = lambda *argv: configs.unknown_override(config, "config", list(argv))  # noqa: E731
    assert unknown("--config.lr=0.1", "--config.schedule.min_lr=0", "--workdir=x") is None
    assert unknown("--config.batch_sise=3") == (
        "--config.batch_sise: unknown field 'batch_sise' of config; "
        "did you mean batch_size, eval_batch_size?"
    )
    assert unknown("--config.learning_rate=nan").endswith("did you mean lr?")  # its initials
    nothing_near = unknown("--config.nosuch=1")
    assert nothing_near.startswith("--config.nosuch: unknown field 'nosuch' of config; the fields")
    assert "batch_size" in nothing_near and "weight_decay" in nothing_near
    assert unknown("--config.schedule.foo=1") == (
        "--config.schedule.foo: unknown field 'foo' of config.schedule; the fields of "
        "config.schedule are constant_steps, decay_end_epoch, min_lr, restart_end_epoch"
    )
