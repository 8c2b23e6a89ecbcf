"""A PyTorch state dict mapped key by key onto an NNX model's variables, every key used once.

Linear weights are transposed ((out, in) -> (in, out) kernels), convolution weights go from
(out, in, kh, kw) to (kh, kw, in, out); BatchNorm's weight, bias and running statistics become
scale, bias, mean and var (`num_batches_tracked` is not used in eval). Every key must be used
exactly once and every one of our variables must be set, else an error names the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import jax.numpy as jnp
import numpy as np
from flax import nnx

Path = tuple[Any, ...]


class StateMapper:
    """Collects (our path -> array) from reference keys, checking shapes and use."""

    def __init__(self, sd: Mapping[str, np.ndarray], ours: Mapping[Path, Any], source: str):
        self.sd, self.ours, self.source = sd, ours, source
        self.used: set[str] = set()
        self.values: dict[Path, np.ndarray] = {}

    def take(self, key: str) -> np.ndarray:
        if key not in self.sd:
            raise ValueError(f"{self.source}: missing key {key!r}")
        self.used.add(key)
        return self.sd[key]

    def put(self, path: Path, value: np.ndarray, key: str) -> None:
        if path not in self.ours:
            raise ValueError(f"{self.source}: key {key!r} has no counterpart ({path}) in our model")
        want = tuple(self.ours[path].shape)
        if tuple(np.shape(value)) != want:
            raise ValueError(
                f"{self.source}: key {key!r} has shape {tuple(np.shape(value))}, our "
                f"{'/'.join(map(str, path))} needs {want}"
            )
        self.values[path] = np.asarray(value, np.float32)

    def linear(self, ref: str, path: Path, bias: bool) -> None:
        self.put((*path, "kernel"), self.take(f"{ref}.weight").T, f"{ref}.weight")
        if bias:
            self.put((*path, "bias"), self.take(f"{ref}.bias"), f"{ref}.bias")

    def conv(self, ref: str, path: Path) -> None:
        weight = self.take(f"{ref}.weight")
        if weight.ndim != 4:
            raise ValueError(f"{self.source}: key {ref + '.weight'!r} is not a 2-D convolution")
        self.put((*path, "kernel"), weight.transpose(2, 3, 1, 0), f"{ref}.weight")
        self.put((*path, "bias"), self.take(f"{ref}.bias"), f"{ref}.bias")

    def norm(self, ref: str, path: Path, batch: bool) -> None:
        names = [("weight", "scale"), ("bias", "bias")]
        if batch:
            names += [("running_mean", "mean"), ("running_var", "var")]
            if f"{ref}.num_batches_tracked" in self.sd:
                self.take(f"{ref}.num_batches_tracked")  # only used with momentum=None
        for theirs, mine in names:
            self.put((*path, mine), self.take(f"{ref}.{theirs}"), f"{ref}.{theirs}")


M = TypeVar("M", bound=StateMapper)


def fill_model(
    model: nnx.Module,
    sd: Mapping[str, np.ndarray],
    source: str,
    fill: Callable[[M], None],
    mapper_class: type[M] = StateMapper,
) -> None:
    """Sets every variable of `model` (shape-only is fine) from `sd` through `fill`; then the
    model is in eval mode. Unused keys and unset variables are errors naming them."""
    flat = list(nnx.to_flat_state(nnx.state(model)))
    ours = {path: variable.get_value() for path, variable in flat}
    mapper = mapper_class(sd, ours, source)
    fill(mapper)
    extra = sorted(set(sd) - mapper.used)
    if extra:
        raise ValueError(
            f"{source}: extra key {extra[0]!r} ({len(extra)} unused keys: {extra[:4]})"
        )
    unset = [path for path in ours if path not in mapper.values]
    if unset:
        raise ValueError(
            f"{source}: nothing in the checkpoint sets our {'/'.join(map(str, unset[0]))}"
        )
    updated = [(p, v.replace(jnp.asarray(mapper.values[p]))) for p, v in flat]
    nnx.update(model, nnx.from_flat_state(updated))
    model.eval()
