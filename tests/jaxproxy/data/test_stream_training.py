"""The smoke config trains through grain over the TFDS data source; its state is checkpointed."""

import json
import os

import numpy as np

from jaxproxy.configs import proxy as proxy_config
from jaxproxy.trainers import proxy
from tests.jaxproxy.fake_data import write_fake_dataset


def test_smoke_config_trains_from_the_tfds_data_source(tmp_path):
    write_fake_dataset(tmp_path / "train", num_examples=96, embedding_dim=8, num_shards=3)
    write_fake_dataset(tmp_path / "val", num_examples=48, embedding_dim=8, split="val", seed=1)
    config = proxy_config.get_config("encoder=mlp_oh,smoke")
    config.synth, config.audio_model = "fakesynth", "fake"
    config.train_data, config.val_data = str(tmp_path / "train"), str(tmp_path / "val")
    config.input_mode = "stream"
    seen = []
    real = proxy.make_train_iterator

    def spy(*args, **kwargs):
        iterator = real(*args, **kwargs)
        seen.append(iterator)
        return iterator

    proxy.make_train_iterator = spy
    try:
        result = proxy.train_and_evaluate(config, str(tmp_path / "work"))
    finally:
        proxy.make_train_iterator = real
    assert seen[0].mode == "stream" and result["step"] == 12
    assert np.isfinite(result["l1"]) and 0 < result["mrr"] <= 1
    # The grain iterator's exact position travels in the orbax checkpoint.
    latest = os.path.join(tmp_path, "work", "checkpoints", "latest")
    step = max(int(s) for s in os.listdir(latest) if s.isdigit())
    with open(os.path.join(latest, str(step), "data", "metadata")) as f:
        state = json.load(f)
    assert state["mode"] == "stream" and state["epoch"] * 6 + state["step"] == step
