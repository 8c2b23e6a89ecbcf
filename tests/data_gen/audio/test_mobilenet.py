"""The mn network layout against the official checkpoints' facts (keys, shapes, parameters)."""

import pytest
import torch

from data_gen.audio.mobilenet import MobileNetV3, block_configs, init_random, make_divisible
from data_gen.audio.weights import load_into, load_state_dict

# README parameter totals and representative official state_dict shapes.
PARAMS = {0.4: 983_599, 1.0: 4_876_831, 2.0: 17_909_287}
SHAPES = {
    0.4: {
        "features.0.0.weight": (8, 1, 3, 3),
        "features.1.block.0.0.weight": (8, 1, 3, 3),
        "features.1.block.1.0.weight": (8, 8, 1, 1),
        "features.4.block.2.conc_se_layers.0.fc1.weight": (8, 32),
        "features.5.block.2.conc_se_layers.0.fc2.weight": (48, 16),
        "features.15.block.3.0.weight": (64, 384, 1, 1),
        "features.16.0.weight": (384, 64, 1, 1),
        "classifier.2.weight": (512, 384),
        "classifier.5.weight": (527, 512),
    },
    1.0: {
        "features.4.block.2.conc_se_layers.0.fc1.weight": (24, 72),
        "features.16.0.weight": (960, 160, 1, 1),
        "classifier.2.weight": (1280, 960),
    },
    2.0: {
        "features.12.block.2.conc_se_layers.0.fc1.weight": (336, 1344),
        "features.16.0.weight": (1920, 320, 1, 1),
        "classifier.5.weight": (527, 2560),
    },
}


def test_make_divisible():
    assert [make_divisible(v) for v in (6.4, 9.6, 18, 28.8, 73.6, 512)] == [8, 16, 24, 32, 72, 512]


@pytest.mark.parametrize("width", [0.4, 1.0, 2.0])
def test_state_dict_layout(width):
    model = MobileNetV3(width)
    state = model.state_dict()
    assert len(state) == 312
    assert sum(p.numel() for p in model.parameters()) == PARAMS[width]
    for key, shape in SHAPES[width].items():
        assert tuple(state[key].shape) == shape, key
    assert state["features.0.1.num_batches_tracked"].dtype == torch.int64
    bn = model.features[7].block[1][1]
    assert (bn.eps, bn.momentum) == (0.001, 0.01)


def test_mn04_block_channels_match_facts():
    got = [(c.in_ch, c.exp_ch, c.out_ch) for c in block_configs(0.4)]
    assert got[:4] == [(8, 8, 8), (8, 24, 16), (16, 32, 16), (16, 32, 16)]
    assert got[10:] == [(32, 192, 48), (48, 272, 48), (48, 272, 64), (64, 384, 64), (64, 384, 64)]


def test_strict_round_trip(tmp_path):
    source = init_random(MobileNetV3(0.4), seed=3).eval()
    path = tmp_path / "mn04.pt"
    torch.save(source.state_dict(), path)
    target = MobileNetV3(0.4)
    target.load_state_dict(torch.load(path, weights_only=True), strict=True)
    mel = torch.randn(2, 1, 128, 16)
    torch.testing.assert_close(target.eval()(mel), source(mel), rtol=0, atol=0)


def test_load_tolerates_missing_classifier_but_not_wrong_width(tmp_path):
    source = init_random(MobileNetV3(0.4), seed=1)
    features_only = {k: v for k, v in source.state_dict().items() if not k.startswith("classifier")}
    target = MobileNetV3(0.4)
    load_into(target, features_only, "features-only")
    torch.testing.assert_close(
        target.features[5].block[2].conc_se_layers[0].fc1.weight,
        source.features[5].block[2].conc_se_layers[0].fc1.weight,
    )
    torch.save(source.state_dict(), tmp_path / "w.pt")
    with pytest.raises(ValueError, match="wrong shapes"):
        load_into(MobileNetV3(1.0), load_state_dict(tmp_path / "w.pt"), "w.pt")


def test_downsampling_and_logits():
    model = init_random(MobileNetV3(0.4), seed=0).eval()
    with torch.inference_mode():
        maps = model.block_outputs(torch.randn(3, 1, 128, 16), (5, 11, 13, 15))
        logits = model(torch.randn(3, 1, 128, 16))
    assert [tuple(m.shape[1:]) for m in maps] == [(16, 16, 2), (48, 8, 1), (64, 4, 1), (64, 4, 1)]
    assert logits.shape == (3, 527)


def test_load_fills_missing_batchnorm_counters():
    source = init_random(MobileNetV3(0.4), seed=2)
    state = {k: v for k, v in source.state_dict().items() if "num_batches_tracked" not in k}
    target = MobileNetV3(0.4)
    load_into(target, state, "no-counters")
    torch.testing.assert_close(
        target.features[16][1].running_var, source.features[16][1].running_var
    )
