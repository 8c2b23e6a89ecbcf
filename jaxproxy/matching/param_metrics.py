"""The sound-matching parameter metrics: numerical MAE, binary and categorical accuracy, in numpy.

Inputs are decoded presets in the dataset's format (facts 9.3: numerical values in [0, 1], binary
values 0/1, categorical values as category indices) and the used parameters' kinds.

- `num_mae`: mean |pred - target| over all numerical entries (the reference's L1Loss).
- `bin_acc`: fraction of binary entries equal after thresholding at 0.5 (torchmetrics
  BinaryAccuracy's default).
- `cat_acc`: the fraction of categorical entries predicted exactly (micro accuracy): what we report.
- `cat_acc_macro`: the reference's torchmetrics `MulticlassAccuracy(num_classes=max cardinality)`
  with its default macro averaging: the entries of all categorical parameters pooled, the recall
  of each class index 0..C-1 computed, classes with no target and no prediction left out, and the
  rest averaged. Index 3 of a 4-way waveform and index 3 of a 32-way ratio count as one "class",
  so this mixes parameters; it is offered for comparison with the paper's numbers.

`reference_param_metrics` computes them as the reference's test does: per batch of 32, averaged
weighted by batch size (this matters for the macro value only).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jaxproxy.matching.audio_metrics import REFERENCE_BATCH

PARAM_METRICS = ("num_mae", "bin_acc", "cat_acc", "cat_acc_macro")


def _columns(kinds: Sequence[str], kind: str) -> np.ndarray:
    return np.array([i for i, k in enumerate(kinds) if k == kind], np.int64)


def macro_accuracy(pred_N: np.ndarray, target_N: np.ndarray, num_classes: int) -> float:
    """torchmetrics' multiclass macro accuracy of integer labels (see the module docstring)."""
    pred_N = np.asarray(pred_N, np.int64).reshape(-1)
    target_N = np.asarray(target_N, np.int64).reshape(-1)
    if pred_N.size and (pred_N.min() < 0 or max(pred_N.max(), target_N.max()) >= num_classes):
        raise ValueError(f"macro_accuracy: labels must be in 0..{num_classes - 1}")
    tp_C = np.bincount(target_N[pred_N == target_N], minlength=num_classes)
    support_C = np.bincount(target_N, minlength=num_classes)  # tp + fn
    predicted_C = np.bincount(pred_N, minlength=num_classes)  # tp + fp
    present_C = (support_C + predicted_C) > 0  # tp + fp + fn > 0
    recall_C = np.divide(tp_C, support_C, out=np.zeros(num_classes), where=support_C > 0)
    return float(recall_C[present_C].mean()) if present_C.any() else 0.0


def param_metrics(
    pred_NxP: np.ndarray,
    target_NxP: np.ndarray,
    kinds: Sequence[str],
    cat_cards: Sequence[int] | None = None,
) -> dict[str, float]:
    """The four metrics over one set of decoded presets; a kind absent from the synth is left out.

    `cat_cards` are the categorical parameters' cardinalities (in used order), needed for
    `cat_acc_macro` (its class count is their maximum).
    """
    pred_NxP = np.atleast_2d(np.asarray(pred_NxP, np.float64))
    target_NxP = np.atleast_2d(np.asarray(target_NxP, np.float64))
    if pred_NxP.shape != target_NxP.shape or pred_NxP.shape[1] != len(kinds):
        raise ValueError(
            f"param_metrics: predictions {pred_NxP.shape} and targets {target_NxP.shape} must "
            f"both be [N, {len(kinds)}] (one column per used parameter)"
        )
    out: dict[str, float] = {}
    num, bin_, cat = (_columns(kinds, k) for k in ("num", "bin", "cat"))
    if num.size:
        out["num_mae"] = float(np.mean(np.abs(pred_NxP[:, num] - target_NxP[:, num])))
    if bin_.size:
        out["bin_acc"] = float(np.mean((pred_NxP[:, bin_] > 0.5) == (target_NxP[:, bin_] > 0.5)))
    if cat.size:
        pred_cat = np.rint(pred_NxP[:, cat]).astype(np.int64)
        target_cat = np.rint(target_NxP[:, cat]).astype(np.int64)
        out["cat_acc"] = float(np.mean(pred_cat == target_cat))
        if cat_cards is not None:
            if len(cat_cards) != cat.size:
                raise ValueError(
                    f"param_metrics: {cat.size} categorical parameters but {len(cat_cards)} "
                    "cardinalities"
                )
            out["cat_acc_macro"] = macro_accuracy(pred_cat, target_cat, int(max(cat_cards)))
    return out


def reference_param_metrics(
    pred_NxP: np.ndarray,
    target_NxP: np.ndarray,
    kinds: Sequence[str],
    cat_cards: Sequence[int] | None = None,
    batch_size: int = REFERENCE_BATCH,
) -> dict[str, float]:
    """`param_metrics` per batch of `batch_size`, averaged weighted by batch size (the reference's
    test logging). Only `cat_acc_macro` differs from the whole-set value."""
    n = np.atleast_2d(pred_NxP).shape[0]
    total: dict[str, float] = {}
    for start in range(0, n, batch_size):
        part = param_metrics(
            pred_NxP[start : start + batch_size],
            target_NxP[start : start + batch_size],
            kinds,
            cat_cards,
        )
        size = min(batch_size, n - start)
        for name, value in part.items():
            total[name] = total.get(name, 0.0) + value * size
    return {name: value / n for name, value in total.items()}
