"""Tests for the wcrc learning-rate schedule against the paper's formulas."""

import math

import numpy as np
import pytest

from jaxproxy.schedules import wcrc_schedule

BASE, MIN = 1e-3, 2e-6


def _cosine(t: float, length: float) -> float:
    return MIN + (BASE - MIN) * 0.5 * (1 + math.cos(math.pi * t / length))


@pytest.mark.parametrize("steps_per_epoch", [20_000, 40_000])
def test_milestones_match_the_formulas(steps_per_epoch):
    sched = wcrc_schedule(BASE, steps_per_epoch)
    decay_end, restart_end = 10 * steps_per_epoch, 30 * steps_per_epoch
    decay, restart = decay_end - 7_500, restart_end - decay_end
    expected = {
        0: BASE,
        7_499: BASE,
        7_500: BASE,
        7_500 + decay // 2: _cosine(decay // 2, decay),
        decay_end - 1: _cosine(decay - 1, decay),
        decay_end: BASE,  # full restart
        decay_end + restart // 3: _cosine(restart // 3, restart),
        restart_end - 1: _cosine(restart - 1, restart),
        restart_end: MIN,
        restart_end + 123_456: MIN,
    }
    for step, lr in expected.items():
        np.testing.assert_allclose(float(sched(step)), lr, rtol=1e-5, err_msg=f"step {step}")


def test_paper_table_512():
    # facts 6.4: bs 512 -> phase 2 ends at step 200,000 and phase 3 at 600,000.
    sched = wcrc_schedule(BASE, 20_000)
    assert float(sched(199_999)) < 1.01 * MIN
    assert float(sched(200_000)) == pytest.approx(BASE)
    assert float(sched(599_999)) < 1.01 * MIN


def test_monotone_within_phases():
    sched = wcrc_schedule(BASE, 100, constant_steps=50)
    lrs = np.array([float(sched(s)) for s in range(0, 3_100)])
    assert np.all(np.diff(lrs[50:1000]) <= 1e-12)
    assert np.all(np.diff(lrs[1000:3000]) <= 1e-12)


def test_rejects_phases_that_do_not_fit():
    with pytest.raises(ValueError, match="constant_steps"):
        wcrc_schedule(BASE, 10)  # 7,500 constant steps > 10 epochs of 10 steps
