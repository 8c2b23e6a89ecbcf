"""Tests for the wcrc learning-rate schedule against the paper's formulas."""

import math

import numpy as np
import pytest

from jaxproxy import schedules
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


def _reference_linear_scheduler(start_value, end_value, start, warm, i):
    """The digest's LinearScheduler (facts 9.4), in float64."""
    l = max(i - start, 0)  # noqa: E741
    return start_value + (end_value - start_value) * l / max(warm, l) if l else start_value


@pytest.mark.parametrize("name", sorted(schedules.LOSS_SCHEDULES))
def test_loss_weight_schedules_equal_the_reference_at_the_ramp_edges(name):
    total = 207_337  # Dexed: 600 epochs of 22,116 at batch 64 (facts 9.4)
    start, warm = int(0.333 * total), int(0.33 * total)
    assert (start, warm) == (69_043, 68_421)
    w_p, w_a = schedules.loss_weight_schedules(name, total)
    (p0, p1), (a0, a1) = schedules.LOSS_SCHEDULES[name]
    for i in (0, start - 1, start, start + 1, start + warm // 2, start + warm - 1, start + warm,
              start + warm + 1, total):  # fmt: skip
        for fn, (v0, v1) in ((w_p, (p0, p1)), (w_a, (a0, a1))):
            expected = _reference_linear_scheduler(v0, v1, start, warm, i)
            assert float(fn(i)) == pytest.approx(expected, rel=1e-6, abs=1e-6), (name, i)
    assert float(w_p(start)) == p0 and float(w_a(start)) == a0  # exact at the edges
    assert float(w_p(start + warm)) == p1 and float(w_a(start + warm)) == a1
    assert float(w_p(total)) == p1 and float(w_a(total)) == a1  # no rounding past the ramp


def test_paper_names_and_unknown_schedule():
    assert schedules.loss_weight_schedules("switch", 100)[1](100) == 10.0
    with pytest.raises(ValueError, match="unknown loss schedule 'swich'"):
        schedules.loss_weight_schedules("swich", 100)


def test_warmup_and_plateau_follow_the_reference():
    assert float(schedules.warmup_factor(0, 10)) == pytest.approx(0.1)
    assert float(schedules.warmup_factor(9, 10)) == 1.0
    state = schedules.PlateauState.create()
    metrics = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.95]
    scales = []
    for m in metrics:  # patience 5: the 6th evaluation without improvement halves the LR
        state = schedules.plateau_update(state, m, factor=0.5, patience=5)
        scales.append(float(state.scale))
    assert scales == [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5]
