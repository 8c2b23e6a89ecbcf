"""Random presets as the paper samples them, reproducible from (seed, index) alone."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from data_gen.synths.spec import SynthSpec


class PresetSampler:
    """Draws preset vectors; each example index owns an independent random stream.

    The stream of example `i` under dataset seed `s` is `np.random.Generator(PCG64(SeedSequence(
    [s, i])))`, so any index range can be generated on any worker, in any order. Continuous
    parameters are uniform over their interval; discrete ones are a weighted choice, drawn by
    inverse CDF from one uniform per parameter. A preset rejected by the RMS filter is replaced by
    the next draw of the *same* stream (`stream(index)`), which keeps resampling deterministic.
    """

    def __init__(self, spec: SynthSpec, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.spec = spec
        self.seed = int(seed)
        used = spec.used_params
        self._lo = np.array([p.interval[0] for p in used])
        self._hi = np.array([p.interval[1] for p in used])
        self._continuous = np.array([p.is_continuous for p in used])
        # Discrete parameters: cumulative weights padded to one width for a vectorised search.
        width = max((p.cardinality for p in used if not p.is_continuous), default=1)
        self._cdf = np.ones((len(used), width))
        self._choice_values = np.zeros((len(used), width))
        for i, p in enumerate(used):
            if p.is_continuous:
                continue
            self._cdf[i, : p.cardinality] = np.cumsum(p.weights)
            self._cdf[i, p.cardinality - 1 :] = 1.0  # guard against rounding below 1
            stored = np.arange(p.cardinality) if p.kind == "cat" else np.asarray(p.values)
            self._choice_values[i, : p.cardinality] = stored
            self._choice_values[i, p.cardinality :] = stored[-1]

    def rng(self, index: int) -> np.random.Generator:
        if index < 0:
            raise ValueError(f"example index must be >= 0, got {index}")
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, int(index)])))

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """One preset vector float32[P] from a stream."""
        u = rng.random(self.spec.num_used)
        continuous = self._lo + u * (self._hi - self._lo)
        choice = (u[:, None] >= self._cdf).sum(-1)
        discrete = self._choice_values[
            np.arange(len(u)), np.minimum(choice, self._cdf.shape[1] - 1)
        ]
        return np.where(self._continuous, continuous, discrete).astype(np.float32)

    def stream(self, index: int) -> Iterator[np.ndarray]:
        """Successive candidate presets for one example: the first, then RMS-filter replacements."""
        rng = self.rng(index)
        while True:
            yield self.draw(rng)

    def sample(self, index: int) -> np.ndarray:
        """The first candidate preset of an example."""
        return self.draw(self.rng(index))

    def sample_batch(self, indices: np.ndarray) -> np.ndarray:
        """First candidates for many indices, float32[N, P]."""
        return (
            np.stack([self.sample(int(i)) for i in indices])
            if len(indices)
            else np.zeros((0, self.spec.num_used), np.float32)
        )
