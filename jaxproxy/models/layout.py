"""Where each used synth parameter sits in the encoder inputs (the layout encoders build on)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

_KINDS = ("num", "bin", "cat")


def _frozen_int_array(values: Sequence[int]) -> np.ndarray:
    array = np.asarray(values, dtype=np.int64).reshape(-1)
    array.setflags(write=False)
    return array


@dataclasses.dataclass(frozen=True, eq=False)
class PresetLayout:
    """Column layout of a synth's preset vector (float32[P] over the used parameters).

    Numerical and binary entries hold raw values in [0, 1]; categorical entries hold the index into
    that parameter's allowed values. The one-hot input is `[noncat raw values | one-hot of each
    categorical, in used order]`; the tokenizer's shared categorical table has one row per category
    of every categorical parameter, the rows of parameter k starting at `cat_offsets[k]`.

    Index arrays are read-only int64 numpy arrays; the layout is hashable so that modules can hold
    it as a static attribute (jit caches on it).

    Attributes:
      n_used: P, the number of used parameters (the preset vector length).
      noncat_idx: positions of numerical and binary parameters in the preset vector.
      cat_idx: positions of categorical parameters in the preset vector.
      cat_cards: cardinality of each categorical parameter (aligned with `cat_idx`).
      cat_offsets: first row of each categorical parameter in the shared embedding table.
      onehot_width: len(noncat_idx) + sum(cat_cards).
      sum_card: sum(cat_cards), the rows of the shared categorical embedding table.
      name: the synth's name, for messages.
      bin_idx: positions of the binary parameters (a subset of `noncat_idx`).
    """

    n_used: int
    noncat_idx: np.ndarray
    cat_idx: np.ndarray
    cat_cards: np.ndarray
    cat_offsets: np.ndarray
    onehot_width: int
    sum_card: int
    name: str = ""
    bin_idx: np.ndarray = dataclasses.field(default_factory=lambda: _frozen_int_array([]))

    @classmethod
    def from_kinds(
        cls, kinds: Sequence[str], cardinalities: Sequence[int], name: str = ""
    ) -> PresetLayout:
        """Builds the layout from the used parameters' kinds ("num"/"bin"/"cat") and cardinalities.

        Cardinalities of non-categorical parameters are ignored (pass -1 or anything).
        """
        where = f"synth {name!r}" if name else "preset layout"
        if len(kinds) != len(cardinalities):
            raise ValueError(f"{where}: {len(kinds)} kinds but {len(cardinalities)} cardinalities")
        if not kinds:
            raise ValueError(f"{where}: no used parameters")
        for i, (kind, card) in enumerate(zip(kinds, cardinalities, strict=True)):
            if kind not in _KINDS:
                raise ValueError(
                    f"{where}: used parameter {i} has kind {kind!r}, expected {_KINDS}"
                )
            if kind == "cat" and int(card) < 2:
                raise ValueError(
                    f"{where}: categorical used parameter {i} needs cardinality >= 2, got {card!r}"
                )
        cat_idx = [i for i, kind in enumerate(kinds) if kind == "cat"]
        noncat_idx = [i for i, kind in enumerate(kinds) if kind != "cat"]
        cat_cards = [int(cardinalities[i]) for i in cat_idx]
        offsets = np.concatenate([[0], np.cumsum(cat_cards)[:-1]]) if cat_cards else []
        sum_card = int(sum(cat_cards))
        return cls(
            n_used=len(kinds),
            noncat_idx=_frozen_int_array(noncat_idx),
            cat_idx=_frozen_int_array(cat_idx),
            cat_cards=_frozen_int_array(cat_cards),
            cat_offsets=_frozen_int_array(offsets),
            onehot_width=len(noncat_idx) + sum_card,
            sum_card=sum_card,
            name=name,
            bin_idx=_frozen_int_array([i for i, kind in enumerate(kinds) if kind == "bin"]),
        )

    @classmethod
    def from_spec_json(cls, spec_json: Mapping[str, Any]) -> PresetLayout:
        """Builds the layout from `SynthSpec.to_json()` (its "params" list; used ones, in order)."""
        name = str(spec_json.get("name", "")) if isinstance(spec_json, Mapping) else ""
        params = spec_json.get("params") if isinstance(spec_json, Mapping) else None
        if not isinstance(params, Sequence) or isinstance(params, str):
            raise ValueError(
                f"synth spec {name!r}: expected a 'params' list of parameter dicts "
                f"(SynthSpec.to_json()), got {type(params).__name__}"
            )
        kinds, cards = [], []
        for i, param in enumerate(params):
            if not isinstance(param, Mapping) or "kind" not in param:
                raise ValueError(f"synth spec {name!r}: params[{i}] needs a 'kind' field")
            if not param.get("used", True):
                continue
            if param["kind"] == "cat" and "cardinality" not in param:
                raise ValueError(
                    f"synth spec {name!r}: categorical params[{i}] "
                    f"({param.get('name', '?')!r}) needs a 'cardinality' field"
                )
            kinds.append(param["kind"])
            cards.append(int(param.get("cardinality", -1)))
        return cls.from_kinds(kinds, cards, name=name)

    @property
    def n_noncat(self) -> int:
        return len(self.noncat_idx)

    @property
    def num_idx(self) -> np.ndarray:
        """Positions of the numerical (continuous or discrete, not binary) parameters."""
        return np.setdiff1d(self.noncat_idx, self.bin_idx)

    @property
    def used_widths(self) -> np.ndarray:
        """Columns per used parameter in the one-hot / estimator output: 1, or its cardinality."""
        widths = np.ones(self.n_used, np.int64)
        widths[self.cat_idx] = self.cat_cards
        return widths

    @property
    def used_order_to_onehot(self) -> np.ndarray:
        """int64[onehot_width]: for each one-hot column, its column in the *used-order* layout.

        The used-order layout gives every used parameter its 1 or cardinality columns in preset
        order (the sound-matching estimator's output, facts 9.2); the one-hot layout puts the
        numerical/binary columns first, then the categorical blocks.
        """
        starts = np.concatenate([[0], np.cumsum(self.used_widths)[:-1]])
        cat_cols = [
            np.arange(starts[i], starts[i] + c)
            for i, c in zip(self.cat_idx, self.cat_cards, strict=True)
        ]
        return np.concatenate([starts[self.noncat_idx], *cat_cols]).astype(np.int64)

    @property
    def n_cat(self) -> int:
        return len(self.cat_idx)

    def _key(self) -> tuple:
        return (
            self.n_used,
            tuple(self.noncat_idx.tolist()),
            tuple(self.cat_idx.tolist()),
            tuple(self.cat_cards.tolist()),
            tuple(self.bin_idx.tolist()),
            self.name,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PresetLayout) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"PresetLayout(name={self.name!r}, n_used={self.n_used}, n_noncat={self.n_noncat}, "
            f"n_cat={self.n_cat}, sum_card={self.sum_card}, onehot_width={self.onehot_width})"
        )
