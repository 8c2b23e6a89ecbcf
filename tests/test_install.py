"""Installed as a user would: a fresh venv per extra (from the package registry), run from `/`.

Slow (the [train] venv is about 1.2 GB: 4 min 23 s with a cold pip cache, 2 min 32 s warm, on the
busy 2-core machine); `make test-slow` runs it. The fast counterparts are in tests/test_cli.py and
tests/jaxproxy/test_configs.py.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.jaxproxy.fake_data import fake_arrays, fake_synth_json, write_fake_dataset

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
EMB = 8


def _source_copy(tmp_path: Path) -> Path:
    """What `pip install .` needs, copied so the build leaves nothing in the checkout."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, src / name)
    for package in ("jaxproxy", "data_gen"):
        shutil.copytree(REPO / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    return src


def _venv(where: Path, *requirements: str) -> Path:
    """A new venv with nothing but `requirements` (and their dependencies); its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    pip = [str(where / "bin" / "python"), "-m", "pip", "install", "-q", *requirements]
    done = subprocess.run(pip, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return where / "bin"


def _installed(bin_dir: Path, *modules: str) -> list[str]:
    code = f"import importlib.util as u; print([m for m in {list(modules)!r} if u.find_spec(m)])"
    done = subprocess.run([str(bin_dir / "python"), "-c", code], capture_output=True, text=True)
    return ast.literal_eval(done.stdout.strip())


def test_train_extra_runs_the_smoke_config_from_root(tmp_path):
    bin_dir = _venv(tmp_path / "venv", f"{_source_copy(tmp_path)}[train]")
    assert _installed(bin_dir, "torch", "dawdreamer") == []
    assert (bin_dir / "tensorboard").exists()
    for split, n in (("train", 96), ("val", 64)):
        write_fake_dataset(tmp_path / split, num_examples=n, embedding_dim=EMB, split=split)
    workdir = tmp_path / "run"
    command = [
        str(bin_dir / "jaxproxy"), "train", "--config=proxy:encoder=hn_oh,smoke",
        f"--workdir={workdir}", f"--config.train_data={tmp_path / 'train'}",
        f"--config.val_data={tmp_path / 'val'}", "--config.synth=fakesynth",
        "--config.audio_model=fake",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "XLA_FLAGS")}
    done = subprocess.run(command, cwd="/", env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "validation at step 12" in done.stderr
    assert (workdir / "checkpoints").is_dir() and (workdir / "config.json").is_file()


def test_base_install_loads_and_calls_an_export(tmp_path):
    from jaxproxy import export, models
    from jaxproxy.configs import proxy as proxy_config
    from jaxproxy.models.layout import PresetLayout

    config = proxy_config.get_config("encoder=hn_oh,smoke")
    model = models.build_proxy(config, PresetLayout.from_spec_json(fake_synth_json()), EMB)
    folder = export.export_model(
        str(tmp_path / "export"), model, config=config.to_dict(),
        spec_json=fake_synth_json(), embedding_dim=EMB,
    )  # fmt: skip
    presets = fake_arrays(4, EMB, seed=1)["params"]
    np.save(tmp_path / "presets.npy", presets)
    expected = np.asarray(jax_call(folder, presets))

    bin_dir = _venv(tmp_path / "venv", str(_source_copy(tmp_path)))
    assert _installed(bin_dir, "jax", "numpy") == ["jax", "numpy"]
    others = ("flax", "optax", "orbax", "ml_collections", "absl", "torch", "grain")
    assert _installed(bin_dir, *others) == []
    code = (
        "import sys, jax, numpy as np, jaxproxy\n"
        f"proxy = jaxproxy.load_proxy({folder!r})\n"
        f"x = np.load({str(tmp_path / 'presets.npy')!r})\n"
        "emb = np.asarray(jax.jit(proxy)(x))\n"
        "grad = jax.grad(lambda p: proxy(p).sum())(x)\n"
        "assert np.all(np.isfinite(grad)), grad\n"
        f"np.save({str(tmp_path / 'emb.npy')!r}, emb)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "XLA_FLAGS")}
    done = subprocess.run(
        [str(bin_dir / "python"), "-c", code], cwd="/", env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "emb.npy"), expected, rtol=1e-5, atol=1e-6)


def jax_call(folder: str, presets: np.ndarray) -> np.ndarray:
    """The export called in this (full) environment, for comparison."""
    import jaxproxy

    return np.asarray(jaxproxy.load_proxy(folder)(presets))
