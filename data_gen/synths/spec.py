"""Synth parameter specs in the paper's terms, with a JSON form the dataset metadata embeds."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

Kind = Literal["num", "bin", "cat"]
KINDS = ("num", "bin", "cat")
SPEC_FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class Param:
    """One synth parameter.

    `values` are the raw [0, 1] values sent to the renderer for discrete parameters (discretised
    numerical, binary, categorical); they are the *allowed* values, after excluded categories are
    removed, so a categorical preset entry is an index into them. Continuous numerical parameters
    have `cardinality == -1`, no values, and are sampled uniformly over `interval`.
    """

    name: str
    kind: Kind
    index: int  # render-side index: VST parameter index, or position in the Faust parameter list
    address: str | None = None  # Faust parameter address, when the engine addresses by name
    cardinality: int = -1
    values: tuple[float, ...] | None = None
    weights: tuple[float, ...] | None = None
    interval: tuple[float, float] = (0.0, 1.0)
    default: float = 0.0  # value held by the renderer when the parameter is excluded
    used: bool = True
    labels: tuple[str, ...] | None = None  # human names of the allowed values, when known

    def __post_init__(self) -> None:
        where = f"parameter {self.name!r}"
        if self.kind not in KINDS:
            raise ValueError(f"{where}: kind must be one of {KINDS}, got {self.kind!r}")
        lo, hi = self.interval
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"{where}: interval must lie in [0, 1], got {self.interval}")
        if self.kind == "bin" and self.values is None:
            object.__setattr__(self, "values", (0.0, 1.0))
        if self.kind == "num" and self.values is None and self.cardinality > 0:
            grid = np.round(np.linspace(0.0, 1.0, self.cardinality), 3)
            object.__setattr__(self, "values", tuple(float(v) for v in grid))
        if self.kind == "cat" and self.values is None:
            if self.cardinality < 2:
                raise ValueError(
                    f"{where}: a categorical parameter needs values or cardinality >= 2"
                )
            grid = np.round(np.linspace(0.0, 1.0, self.cardinality), 3)
            object.__setattr__(self, "values", tuple(float(v) for v in grid))
        if self.values is not None:
            values = tuple(float(v) for v in self.values)
            object.__setattr__(self, "values", values)
            object.__setattr__(self, "cardinality", len(values))
            if len(values) < 2:
                raise ValueError(f"{where}: a discrete parameter needs at least 2 allowed values")
            weights = self.weights if self.weights is not None else (1.0,) * len(values)
            if len(weights) != len(values) or min(weights) < 0 or sum(weights) <= 0:
                raise ValueError(f"{where}: {len(weights)} weights do not fit {len(values)} values")
            total = float(sum(weights))
            # Normalise once: re-dividing weights that already sum to 1 (e.g. read back from
            # JSON) would change their last bits, and with them the spec's fingerprint.
            if abs(total - 1.0) > 1e-9:
                weights = tuple(float(w) / total for w in weights)
            object.__setattr__(self, "weights", tuple(float(w) for w in weights))
        elif self.kind != "num":
            raise ValueError(f"{where}: a {self.kind} parameter needs allowed values")
        else:
            object.__setattr__(self, "cardinality", -1)
            object.__setattr__(self, "weights", None)

    @property
    def is_continuous(self) -> bool:
        return self.values is None

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("values", "weights", "interval", "labels"):
            if out[key] is not None:
                out[key] = list(out[key])
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Param:
        data = dict(data)
        for key in ("values", "weights", "interval", "labels"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class SynthSpec:
    """A synth: its engine, where its sound comes from, and every parameter it exposes.

    The preset vector (the encoder input, the dataset's `params`) holds the *used* parameters in
    spec order: raw values for numerical and binary ones, the allowed-value index for categorical
    ones.

    `routing_param` names a used categorical parameter whose value selects a separately compiled
    processor (dx7: `algorithm`); render pools route work by it so each worker keeps rendering
    what it has already compiled. It does not change the sound, so the fingerprint ignores it.
    """

    name: str
    engine: str  # "faust", "faust_dx7" or "vst": which renderer builds the processor
    source: str  # Faust file name / plug-in path, as the engine understands it
    params: tuple[Param, ...]
    description: str = ""
    notes: tuple[str, ...] = ()  # deliberate deviations and known reference bugs kept
    routing_param: str | None = None

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"synth {self.name!r}: duplicate parameter names {sorted(dup)}")
        if not self.used_params:
            raise ValueError(f"synth {self.name!r}: no used parameters")
        if self.routing_param is not None and not any(
            p.used and p.kind == "cat" and p.name == self.routing_param for p in self.params
        ):
            raise ValueError(
                f"synth {self.name!r}: routing_param {self.routing_param!r} is not a used "
                "categorical parameter"
            )

    # ---- layout -------------------------------------------------------------------------------
    @property
    def used_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.used)

    @property
    def excluded_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if not p.used)

    @property
    def num_used(self) -> int:
        return len(self.used_params)

    def used_indices(self, kind: Kind | None = None) -> np.ndarray:
        """Positions (in the preset vector) of used parameters of one kind, or all."""
        return np.array(
            [i for i, p in enumerate(self.used_params) if kind is None or p.kind == kind],
            dtype=np.int64,
        )

    @property
    def noncat_indices(self) -> np.ndarray:
        return np.array([i for i, p in enumerate(self.used_params) if p.kind != "cat"], np.int64)

    @property
    def cat_indices(self) -> np.ndarray:
        return self.used_indices("cat")

    @property
    def cat_cardinalities(self) -> np.ndarray:
        return np.array([self.used_params[i].cardinality for i in self.cat_indices], np.int64)

    @property
    def onehot_width(self) -> int:
        return len(self.noncat_indices) + int(self.cat_cardinalities.sum())

    def counts(self) -> dict[str, int]:
        """Used parameters per kind, as the paper's Table 1 counts them."""
        used = self.used_params
        return {
            "used": len(used),
            "num": sum(p.kind == "num" for p in used),
            "num_discrete": sum(p.kind == "num" and not p.is_continuous for p in used),
            "bin": sum(p.kind == "bin" for p in used),
            "cat": sum(p.kind == "cat" for p in used),
            "excluded": len(self.excluded_params),
        }

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"synth {self.name!r} has no parameter {name!r}")

    def used_position(self, name: str) -> int:
        for i, p in enumerate(self.used_params):
            if p.name == name:
                return i
        raise KeyError(f"synth {self.name!r} has no used parameter {name!r}")

    # ---- conversions --------------------------------------------------------------------------
    def to_render_values(self, presets: np.ndarray) -> np.ndarray:
        """Preset vectors [..., P] -> raw [0, 1] values the renderer receives, same shape."""
        presets = self.check_presets(presets)
        raw = presets.astype(np.float64, copy=True)
        for i in self.cat_indices:
            values = np.asarray(self.used_params[i].values)
            raw[..., i] = values[presets[..., i].astype(np.int64)]
        return raw

    def from_render_values(self, raw: np.ndarray) -> np.ndarray:
        """Raw [0, 1] values [..., P] -> presets: clip to intervals, snap to allowed values."""
        raw = np.asarray(raw, dtype=np.float64)
        if raw.shape[-1] != self.num_used:
            raise ValueError(
                f"synth {self.name!r}: expected {self.num_used} raw values, got shape {raw.shape}"
            )
        out = np.empty(raw.shape, np.float32)
        for i, p in enumerate(self.used_params):
            col = raw[..., i]
            if p.is_continuous:
                out[..., i] = np.clip(col, *p.interval)
                continue
            values = np.asarray(p.values)
            nearest = np.abs(col[..., None] - values).argmin(-1)
            out[..., i] = nearest if p.kind == "cat" else values[nearest]
        return out

    def check_presets(self, presets: np.ndarray) -> np.ndarray:
        """Validate preset vectors [..., P]; raise naming the first offending parameter."""
        presets = np.asarray(presets)
        if presets.shape[-1:] != (self.num_used,):
            raise ValueError(
                f"synth {self.name!r}: preset vectors need {self.num_used} values, got shape "
                f"{presets.shape}"
            )
        if not np.all(np.isfinite(presets)):
            raise ValueError(f"synth {self.name!r}: preset vectors hold NaN or inf")
        for i, p in enumerate(self.used_params):
            col = presets[..., i]
            if p.kind == "cat":
                bad = (col < 0) | (col >= p.cardinality) | (col != np.round(col))
                expected = f"an integer index in [0, {p.cardinality})"
            else:
                bad = (col < 0.0) | (col > 1.0)
                expected = "a value in [0, 1]"
            if np.any(bad):
                raise ValueError(
                    f"synth {self.name!r}: parameter {p.name!r} (position {i}) needs {expected}, "
                    f"got {np.asarray(col)[bad].ravel()[0]!r}"
                )
        return presets

    def to_onehot(self, presets: np.ndarray) -> np.ndarray:
        """Preset vectors [..., P] -> [noncat raw values | one-hot per categorical], [..., W]."""
        presets = self.check_presets(presets)
        noncat = presets[..., self.noncat_indices].astype(np.float32)
        blocks = [
            np.eye(card, dtype=np.float32)[presets[..., i].astype(np.int64)]
            for i, card in zip(self.cat_indices, self.cat_cardinalities, strict=True)
        ]
        return np.concatenate([noncat, *blocks], axis=-1)

    # ---- JSON ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        out = {
            "format_version": SPEC_FORMAT_VERSION,
            "name": self.name,
            "engine": self.engine,
            "source": self.source,
            "description": self.description,
            "notes": list(self.notes),
            "params": [p.to_json() for p in self.params],
        }
        if self.routing_param is not None:
            out["routing_param"] = self.routing_param
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SynthSpec:
        version = data.get("format_version")
        if version != SPEC_FORMAT_VERSION:
            raise ValueError(
                f"synth spec format_version {version!r} is not supported "
                f"(expected {SPEC_FORMAT_VERSION})"
            )
        return cls(
            name=data["name"],
            engine=data["engine"],
            source=data["source"],
            description=data.get("description", ""),
            notes=tuple(data.get("notes", ())),
            params=tuple(Param.from_json(p) for p in data["params"]),
            routing_param=data.get("routing_param"),
        )

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1)

    @classmethod
    def loads(cls, text: str) -> SynthSpec:
        return cls.from_json(json.loads(text))

    def fingerprint(self) -> str:
        """A short stable hash of the spec, so datasets and checkpoints can refuse a mismatch.

        Only what shapes the sound and the preset format counts: not `routing_param`.
        """
        import hashlib

        data = self.to_json()
        data.pop("routing_param", None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def match_pattern(name: str, pattern: str) -> bool:
    """The reference's exclusion patterns: exact, `prefix*`, `*suffix`, `*mid*` (not globs)."""
    if pattern.startswith("*") and pattern.endswith("*") and len(pattern) > 1:
        return pattern[1:-1] in name
    if pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return name.endswith(pattern[1:])
    return name == pattern


def exclude(params: Sequence[Param], patterns: Sequence[str]) -> tuple[Param, ...]:
    """Mark parameters matching any pattern as excluded (held at their default)."""
    return tuple(
        dataclasses.replace(p, used=False)
        if any(match_pattern(p.name, pat) for pat in patterns)
        else p
        for p in params
    )
