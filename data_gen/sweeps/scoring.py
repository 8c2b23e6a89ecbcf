"""The ranking score (paper section 4.1, reference facts 3.4): Spearman of embedding distances.

For one sweep of V sounds (parameter values in order), the distances from the first sound to the
others should grow with their rank, and so should the distances from the last sound to the others
taken in reverse order. Each gives a Spearman correlation (`scipy.stats.spearmanr`; the reference
computes Pearson on argsort ranks, the same number without ties); an attribute's score is the mean
of these 2 x presets correlations (the reference averages up and down over presets, then the two:
the same mean), and a model's score the mean over attributes. Spread is the standard deviation
over the 2 x presets correlations, as in the paper's Fig. 2.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
from scipy.spatial.distance import cdist
from scipy.stats import spearmanr

# Our name -> scipy.spatial.distance metric. L1 is the paper's; L2 and cosine were also run.
DISTANCES = {"l1": "cityblock", "l2": "euclidean", "cosine": "cosine"}


def truncate(
    audio_NxS: np.ndarray, sample_rate: int, seconds: float, fade_s: float = 0.1
) -> np.ndarray:
    """The reference's embedding input (facts 3.4, probable bug): the first `seconds` of each clip
    with a linear fade-out over its last `fade_s` (its `convert_audio`)."""
    n = int(seconds * sample_rate)
    if n < 1 or n > audio_NxS.shape[1]:
        raise ValueError(
            f"truncate: {seconds} s is {n} samples; clips have {audio_NxS.shape[1]} samples at "
            f"{sample_rate} Hz"
        )
    out_NxS = np.array(audio_NxS[:, :n], np.float32)
    fade = min(int(fade_s * sample_rate), n)
    if fade:
        out_NxS[:, -fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out_NxS


def sweep_correlations(emb_VxE: np.ndarray, distance: str) -> tuple[float, float]:
    """(up, down) Spearman correlations of one sweep's embeddings; NaN when undefined (every
    distance equal), which `summarize` counts as 0: the model ordered nothing."""
    dist_VxV = cdist(emb_VxE, emb_VxE, metric=DISTANCES[distance])
    num_values = emb_VxE.shape[0]
    ranks = np.arange(1, num_values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on constant input and returns NaN
        up = spearmanr(dist_VxV[0, 1:], ranks).statistic
        down = spearmanr(dist_VxV[-1, :-1], ranks[::-1]).statistic
    return float(up), float(down)


def attribute_correlations(emb_PxVxE: np.ndarray, distance: str) -> np.ndarray:
    """Correlations [P, 2] (up, down) of every preset's sweep for one attribute."""
    return np.array([sweep_correlations(e, distance) for e in emb_PxVxE])


def summarize(correlations: Mapping[str, np.ndarray]) -> dict:
    """Per attribute: mean and std over its 2 x presets correlations; then the mean over
    attributes. NaN correlations count as 0 and are reported."""
    out: dict = {"attributes": {}}
    for attribute, rho_Px2 in correlations.items():
        rho = np.asarray(rho_Px2, np.float64).ravel()
        undefined = int(np.isnan(rho).sum())
        rho = np.nan_to_num(rho, nan=0.0)
        out["attributes"][attribute] = {
            "mean": float(rho.mean()),
            "std": float(rho.std()),
            "undefined": undefined,
        }
    means = [v["mean"] for v in out["attributes"].values()]
    out["mean"] = float(np.mean(means)) if means else float("nan")
    return out
