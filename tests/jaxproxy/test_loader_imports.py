"""Loading and calling an exported proxy needs only jax and numpy: nothing else gets imported.

The fresh-venv version of this (a venv holding only the base install) is the slow
tests/test_install.py::test_base_install_loads_and_calls_an_export.
"""

import subprocess
import sys

from jaxproxy import export
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.models.layout import PresetLayout
from jaxproxy.trainers import proxy
from tests.jaxproxy.fake_data import fake_synth_json

# What the training side needs and a loader must not.
HEAVY = ("flax", "optax", "orbax", "ml_collections", "grain", "tensorflow_datasets",
         "tensorboardX", "torch", "dawdreamer", "data_gen", "jaxproxy.models",
         "jaxproxy.trainers")  # fmt: skip


def test_loading_an_export_imports_only_jax_and_numpy(tmp_path):
    config = proxy_config.get_config("encoder=hn_oh,smoke")
    layout = PresetLayout.from_spec_json(fake_synth_json())
    folder = export.export_model(
        str(tmp_path / "export"), proxy.build_model(config, layout, 8), config=config.to_dict(),
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
