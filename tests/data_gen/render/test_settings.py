"""RenderSettings: the paper's defaults, validation, JSON round trip, the strict RMS filter."""

from __future__ import annotations

import dataclasses

import pytest

from data_gen.render import RenderSettings


def test_defaults_are_the_papers_render() -> None:
    s = RenderSettings()
    assert (s.sample_rate, s.midi_note, s.velocity) == (32000, 60, 100)
    assert (s.note_duration, s.render_duration, s.fade_out) == (2.0, 5.0, 0.1)
    assert s.block_size == 128 and s.rms_range == (0.01, 1.0)
    assert s.num_samples == 160000 and s.fade_samples == 3200


def test_json_round_trip() -> None:
    s = RenderSettings(sample_rate=16000, rms_range=[0.02, 0.5], max_resamples=7)
    assert s.rms_range == (0.02, 0.5)
    assert RenderSettings.from_json(s.to_json()) == s
    assert RenderSettings.loads(s.dumps()) == s


def test_rms_filter_is_strict() -> None:
    s = RenderSettings()
    assert s.accepts(0.5)
    assert not s.accepts(0.01) and not s.accepts(1.0)
    assert not s.accepts(0.0) and not s.accepts(float("nan"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sample_rate", 0),
        ("sample_rate", 32000.0),
        ("midi_note", 128),
        ("velocity", 0),
        ("note_duration", -1.0),
        ("render_duration", float("inf")),
        ("fade_out", 6.0),
        ("block_size", 0),
        ("rms_range", (0.5, 0.1)),
        ("rms_range", (0.1,)),
        ("max_resamples", -2),  # -1 = no cap (the reference)
    ],
)
def test_bad_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"RenderSettings.{field}"):
        dataclasses.replace(RenderSettings(), **{field: value})


def test_unknown_json_field_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fields.*'sr'"):
        RenderSettings.from_json({"sr": 32000})
