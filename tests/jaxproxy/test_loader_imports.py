"""Loading and calling an exported proxy needs only jax and numpy: nothing else gets imported.

The fresh-venv version of this (a venv holding only the base install) is the slow
tests/test_install.py::test_base_install_loads_and_calls_an_export.
"""

import subprocess
import sys

import numpy as np

from jaxproxy import export, models
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.models.layout import PresetLayout
from tests.jaxproxy.fake_data import fake_synth_json

# What the training side needs and a loader must not.
HEAVY = ("flax", "optax", "orbax", "ml_collections", "grain", "tensorflow_datasets",
         "tensorboardX", "torch", "dawdreamer", "data_gen", "jaxproxy.models",
         "jaxproxy.trainers")  # fmt: skip


def test_loading_an_export_imports_only_jax_and_numpy(tmp_path):
    config = proxy_config.get_config("encoder=hn_oh,smoke")
    layout = PresetLayout.from_spec_json(fake_synth_json())
    folder = export.export_model(
        str(tmp_path / "export"), models.build_proxy(config, layout, 8), config=config.to_dict(),
        spec_json=fake_synth_json(), embedding_dim=8,
    )  # fmt: skip
    code = (
        "import sys, numpy as np, jaxproxy\n"
        f"p = jaxproxy.load_proxy({folder!r})\n"
        "emb = np.asarray(p(np.zeros((3, p.num_params), np.float32)))\n"
        "assert emb.shape == (3, 8), emb.shape\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted(m for m in sys.modules if m in heavy or m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


# Training-only packages that the inference side (loading exports, `jaxproxy match`) must not
# import: before the trainers' split, loading an estimator pulled in 34 jaxproxy modules, orbax
# and the trainers. (optax cannot be on this list: flax.nnx itself imports it, for nnx.Optimizer,
# so any Flax model brings it; no jaxproxy module on this path imports it.)
TRAINING_ONLY = ("jaxproxy.trainers", "orbax", "grain", "tensorboardX", "torch", "dawdreamer",
                 "jaxproxy.checkpointing", "jaxproxy.train_state", "jaxproxy.data")  # fmt: skip


def test_loading_exports_and_matching_imports_no_training_code(tmp_path):
    import soundfile

    from data_gen.synths.registry import get_spec
    from jaxproxy.configs import estimator as estimator_config
    from jaxproxy.export_estimator import write_export
    from jaxproxy.matching.level import TrainingLevel
    from jaxproxy.models.estimator import build_estimator
    from jaxproxy.models.functional import split_model

    spec_json = get_spec("minisub").to_json()
    layout = PresetLayout.from_spec_json(spec_json)
    config = proxy_config.get_config("synth=minisub,encoder=hn_oh,audio_model=mel128,smoke")
    proxy_dir = export.export_model(
        str(tmp_path / "proxy"), models.build_proxy(config, layout, 128), config=config.to_dict(),
        spec_json=spec_json, embedding_dim=128,
    )  # fmt: skip
    config = estimator_config.get_config("synth=minisub,schedule=switch,smoke")
    _, params, batch_stats = split_model(build_estimator(config, layout, -80.0, 0.0))
    estimator_dir = write_export(
        str(tmp_path / "estimator"), params, batch_stats, config=config.to_dict(),
        spec_json=spec_json, mel_min=-80.0, mel_max=0.0, step=0, checkpoint="untrained",
        input_level=TrainingLevel(-30.0, -40.0, -20.0, 10),  # as export_estimator records it
    )  # fmt: skip
    rate = 32000
    t = np.arange(rate) / rate
    soundfile.write(tmp_path / "tone.wav", 0.3 * np.sin(2 * np.pi * 220 * t), rate)
    code = (
        "import sys, numpy as np, jaxproxy\n"
        "from jaxproxy.matching.estimator_loader import load_estimator\n"
        "from jaxproxy.match import main\n"
        f"p = jaxproxy.load_proxy({proxy_dir!r})\n"
        "assert np.asarray(p(np.zeros((2, p.num_params), np.float32))).shape == (2, 128)\n"
        f"e = load_estimator({estimator_dir!r})\n"
        "assert e.predict(np.zeros((1, 128, 401), np.float32)).shape == (1, p.num_params)\n"
        f"assert main([{str(tmp_path / 'tone.wav')!r}, '--estimator', {estimator_dir!r},\n"
        f"             '--out', {str(tmp_path / 'matched')!r}]) == 0\n"
        f"bad = {TRAINING_ONLY!r}\n"
        "print(sorted(m for m in sys.modules\n"
        "             if any(m == b or m.startswith(b + '.') for b in bad)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "matched" / "preset.json").is_file()
