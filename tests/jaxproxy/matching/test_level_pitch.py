"""Input level (normalise, loudness match) and the f0 metric."""

import numpy as np

from jaxproxy.matching import level, pitch

SR = 32000


def _note(f0, seconds=5.0, amp=0.3):
    t = np.arange(int(SR * seconds)) / SR
    held = np.where(t < 2.0, 1.0, np.exp(-(t - 2.0) * 6))
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in (1, 2, 3, 4))
    return (amp * held * wave).astype(np.float32)


def test_a_gain_moves_the_level_by_its_db_and_normalise_undoes_it():
    note = _note(220.0)
    loud, quiet = level.level_db(np.stack([note, note * 0.1]))
    assert abs(loud - quiet - 20.0) < 1e-3
    scaled, gains = level.normalise(np.stack([note, note * 0.1]), target_db=3.0)
    np.testing.assert_allclose(level.level_db(scaled), 3.0, atol=1e-3)
    np.testing.assert_allclose(scaled[1], scaled[0], rtol=1e-4, atol=1e-7)
    assert abs(gains[1] - gains[0] - 20.0) < 1e-3


def test_training_level_of_stored_mels_matches_the_clips():
    from jaxproxy.mel import ssm_log_mel

    clips = np.stack([_note(f, amp=a) for f, a in ((110, 0.1), (220, 0.3), (440, 0.9))])
    stats = level.TrainingLevel.from_mels(ssm_log_mel(clips))
    assert abs(stats.median_db - level.level_db(clips)[1]) < 1e-3
    assert stats.p10_db < stats.median_db < stats.p90_db
    assert level.TrainingLevel.from_json(stats.to_json()) == stats


def test_match_rms_and_loudness_ratio():
    a, b = _note(220.0, amp=0.5), _note(330.0, amp=0.05)
    np.testing.assert_allclose(level.rms(level.match_rms(a, b)), level.rms(b), rtol=1e-5)
    assert abs(level.loudness_ratio_db(a, b)[0] - 20.0) < 0.01
    silent = np.zeros_like(a)
    assert not level.match_rms(silent, b).any()


def test_f0_of_tones_noise_and_the_metric():
    for f0 in (55.0, 261.63, 440.0, 1318.5):
        assert abs(pitch.cents(pitch.clip_f0(_note(f0)), f0)) < 10, f0
    noise = np.random.default_rng(0).normal(size=5 * SR) * 0.1
    assert np.isnan(pitch.clip_f0(noise))
    target = np.array([261.63, 261.63, 261.63, 261.63, np.nan])
    pred = np.array([262.0, 523.3, 300.0, np.nan, 100.0])
    m = pitch.f0_metrics(pred, target)
    assert m["f0_pitched_targets"] == 4
    assert m["f0_in_tune"] == 0.25 and m["f0_octave_errors"] == 0.25
    assert m["f0_unpitched_predictions"] == 0.25
