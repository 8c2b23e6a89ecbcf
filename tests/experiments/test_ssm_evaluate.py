"""The sound-matching evaluation's audio examples, recorded relative to the results folder."""

import numpy as np

from experiments.sound_matching import evaluate as ssm_evaluate


def test_examples_are_recorded_relative_to_the_results_folder(tmp_path):
    audio_1xS = np.sin(np.linspace(0, 2000, ssm_evaluate.METRIC_RATE // 4))[None].astype(np.float32)
    written = ssm_evaluate._examples(
        tmp_path, "out_of_domain", ["gm/000"], audio_1xS, {"Switch+soft": audio_1xS},
        {"Switch+soft": {"a_mean": np.array([0.5])}}, np.array([0]),
    )  # fmt: skip
    assert written == ["audio/out_of_domain/gm_000/spectrograms.png"]
    folder = tmp_path / "audio" / "out_of_domain" / "gm_000"
    assert (tmp_path / written[0]).stat().st_size > 1000
    assert (folder / "target.wav").is_file() and (folder / "switch_soft.wav").is_file()


def test_the_shuffled_control_is_a_fixed_derangement():
    perm = ssm_evaluate.derangement(37)
    assert sorted(perm) == list(range(37)) and (perm != np.arange(37)).all()
    np.testing.assert_array_equal(perm, ssm_evaluate.derangement(37))
