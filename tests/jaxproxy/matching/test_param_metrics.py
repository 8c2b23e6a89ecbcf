"""Parameter metrics: hand-checked values, and the macro accuracy against torchmetrics."""

import numpy as np
import pytest

from jaxproxy.matching.param_metrics import (
    macro_accuracy,
    param_metrics,
    reference_param_metrics,
)

KINDS = ["num", "cat", "bin", "num", "cat"]
CARDS = [3, 8]


def test_hand_checked_values():
    target = np.array([[0.2, 1, 1, 0.5, 7], [0.4, 2, 0, 0.5, 3]], np.float32)
    pred = np.array([[0.3, 1, 1, 0.1, 7], [0.4, 0, 1, 0.5, 3]], np.float32)
    out = param_metrics(pred, target, KINDS, CARDS)
    assert out["num_mae"] == pytest.approx((0.1 + 0.4 + 0 + 0) / 4)
    assert out["bin_acc"] == pytest.approx(0.5)
    assert out["cat_acc"] == pytest.approx(3 / 4)  # micro: 3 of the 4 categorical entries
    # macro over class indices pooled across both parameters: classes 1, 7, 3 recalled (1.0),
    # class 2 missed (0.0); class 0 was predicted but never a target: recall 0 and counted.
    assert out["cat_acc_macro"] == pytest.approx(3 / 5)


def test_absent_kinds_are_left_out_and_shapes_checked():
    out = param_metrics(np.zeros((2, 2)), np.zeros((2, 2)), ["num", "num"])
    assert set(out) == {"num_mae"}
    with pytest.raises(ValueError, match="one column per used parameter"):
        param_metrics(np.zeros((2, 3)), np.zeros((2, 3)), ["num", "num"])
    with pytest.raises(ValueError, match="cardinalities"):
        param_metrics(np.zeros((1, 5)), np.zeros((1, 5)), KINDS, [3])


def test_macro_accuracy_equals_torchmetrics():
    torch = pytest.importorskip("torch")
    classification = pytest.importorskip("torchmetrics.classification")
    rng = np.random.default_rng(0)
    for classes in (4, 12, 32):
        target = rng.integers(0, classes // 2 + 1, size=(32, 5))
        pred = np.where(rng.random((32, 5)) < 0.5, target, rng.integers(0, classes, (32, 5)))
        metric = classification.MulticlassAccuracy(num_classes=classes)
        expected = metric(torch.from_numpy(pred), torch.from_numpy(target)).item()
        assert macro_accuracy(pred, target, classes) == pytest.approx(expected, abs=1e-6)


def test_reference_batching_weights_batches_by_size():
    rng = np.random.default_rng(1)
    target = np.stack([rng.random(40), rng.integers(0, 3, 40), rng.integers(0, 2, 40),
                       rng.random(40), rng.integers(0, 8, 40)], axis=1)  # fmt: skip
    pred = target.copy()
    pred[:, 4] = rng.integers(0, 8, 40)
    whole = param_metrics(pred, target, KINDS, CARDS)
    batched = reference_param_metrics(pred, target, KINDS, CARDS, batch_size=32)
    for name in ("num_mae", "bin_acc", "cat_acc"):  # means of equal-weight entries: unchanged
        assert batched[name] == pytest.approx(whole[name])
    first = param_metrics(pred[:32], target[:32], KINDS, CARDS)["cat_acc_macro"]
    last = param_metrics(pred[32:], target[32:], KINDS, CARDS)["cat_acc_macro"]
    assert batched["cat_acc_macro"] == pytest.approx((32 * first + 8 * last) / 40)
