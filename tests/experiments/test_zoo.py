"""experiments.zoo: sound matching's stages, wired for a synth without factory presets."""

import argparse

from experiments import zoo
from experiments.common import ssm_stages


def test_minisub_estimator_trains_on_the_synthetic_set_through_the_pretrained_proxy(tmp_path):
    f = zoo.ZooFolders(tmp_path, synthetic_only=True, synthetic_train=2048)
    sargs = zoo._stage_args(argparse.Namespace(synth="minisub", size="small", workers=1))
    overrides = ssm_stages.estimator_overrides(f, sargs, f.proxy)
    assert overrides["train_data"] == tmp_path / "data" / "synthetic_train"
    assert overrides["proxy"] == tmp_path / "exports" / "proxy"  # not the fine-tuned one
    # The paper's 1.5 % warmup share of 3 epochs over the 89 % training part of 2,048 presets.
    assert overrides["warmup_steps"] == round(0.015 * 3 * (int(0.89 * 2048) // 64))


def test_a_synth_with_factory_presets_keeps_sound_matchings_folders(tmp_path):
    f = zoo.ZooFolders(tmp_path, synthetic_only=False, synthetic_train=2048)
    assert (f.hc_train, f.hc_test) == (
        tmp_path / "data" / "hc_train",
        tmp_path / "data" / "hc_test",
    )
    assert f.synthetic["test"] == tmp_path / "data" / "synthetic_test"
