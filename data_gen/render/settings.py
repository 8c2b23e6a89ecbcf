"""Render settings: the paper's note, lengths, fade and RMS filter, validated and JSON-able."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from data_gen.render import rms


@dataclasses.dataclass(frozen=True)
class RenderSettings:
    """How one preset becomes one mono clip (reference facts section 2.4-2.6).

    `sample_rate` is the audio model's rate (no resampling). A synthetic preset is kept only when
    `rms_range[0] < rms < rms_range[1]` (strict); otherwise the next candidate of the example's
    own stream is rendered, at most `max_resamples` times, after which the example is failed;
    `max_resamples=-1` redraws without a cap, as the reference does (`--reference-compat`).
    """

    sample_rate: int = 32000
    midi_note: int = 60
    velocity: int = 100
    note_duration: float = 2.0  # seconds the note is held
    render_duration: float = 5.0  # seconds rendered (the clip length)
    fade_out: float = 0.1  # seconds of linear fade at the end of the clip
    block_size: int = 128
    rms_range: tuple[float, float] = rms.DEFAULT_RMS_RANGE
    max_resamples: int = 100

    def __post_init__(self) -> None:
        object.__setattr__(self, "rms_range", tuple(float(v) for v in self.rms_range))

        def need(ok: bool, field: str, expected: str) -> None:
            if not ok:
                raise ValueError(
                    f"RenderSettings.{field} must be {expected}, got {getattr(self, field)!r}"
                )

        def is_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        def is_pos(v: Any) -> bool:
            return isinstance(v, int | float) and math.isfinite(v) and v > 0

        need(is_int(self.sample_rate) and self.sample_rate >= 1000, "sample_rate", "an int >= 1000")
        need(is_int(self.midi_note) and 0 <= self.midi_note <= 127, "midi_note", "an int in 0..127")
        need(is_int(self.velocity) and 1 <= self.velocity <= 127, "velocity", "an int in 1..127")
        need(is_pos(self.note_duration), "note_duration", "a positive number of seconds")
        need(is_pos(self.render_duration), "render_duration", "a positive number of seconds")
        need(
            isinstance(self.fade_out, int | float) and 0 <= self.fade_out <= self.render_duration,
            "fade_out",
            f"seconds in [0, render_duration={self.render_duration}]",
        )
        need(is_int(self.block_size) and self.block_size >= 1, "block_size", "an int >= 1")
        lo, hi = self.rms_range if len(self.rms_range) == 2 else (math.nan, math.nan)
        need(0 <= lo < hi, "rms_range", "(low, high) with 0 <= low < high")
        need(
            is_int(self.max_resamples) and self.max_resamples >= -1,
            "max_resamples",
            "an int >= 0, or -1 for no cap",
        )

    @property
    def num_samples(self) -> int:
        """Samples in one rendered clip."""
        return round(self.render_duration * self.sample_rate)

    @property
    def fade_samples(self) -> int:
        """Samples of the final linear fade (the reference's `int(sr * 0.1)`)."""
        return int(self.sample_rate * self.fade_out)

    def accepts(self, clip_rms: float) -> bool:
        """Whether a clip of this RMS passes the filter (`data_gen.render.rms.accepts`)."""
        return rms.accepts(clip_rms, self.rms_range)

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["rms_range"] = list(self.rms_range)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RenderSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"render settings: unknown fields {unknown}; known: {sorted(known)}")
        data = dict(data)
        if "rms_range" in data:
            data["rms_range"] = tuple(data["rms_range"])
        return cls(**data)

    def dumps(self) -> str:
        return json.dumps(self.to_json())

    @classmethod
    def loads(cls, text: str) -> RenderSettings:
        return cls.from_json(json.loads(text))
