"""Random train/validation/test splits with the sizes torch's `random_split` gives fractions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def random_split_lengths(num: int, fractions: Sequence[float]) -> list[int]:
    """torch `random_split` lengths for `fractions`: floor(num * f) each, then the remainder one
    by one from the first part (27,609 Dexed presets -> [24,849, 2,760], then 24,849 ->
    [22,116, 2,733]: the reference's N = 22,116 of configs/ssm/train/synth/dexed.yaml)."""
    lengths = [int(np.floor(num * f)) for f in fractions]
    for k in range(num - sum(lengths)):
        lengths[k % len(lengths)] += 1
    return lengths


def split_indices(num: int, train_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, rest) example indices, sorted: a random split of `random_split`'s sizes (the
    permutation is numpy's, not torch's)."""
    perm = np.random.default_rng(seed).permutation(num)
    num_train = random_split_lengths(num, (train_fraction, 1.0 - train_fraction))[0]
    return np.sort(perm[:num_train]), np.sort(perm[num_train:])
