"""Tests of the hand-crafted preset processing (clip, snap, dedupe, RMS filter, report)."""

import contextlib
import dataclasses
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_gen.presets.amsynth_bank import read_amsynth_bank
from data_gen.presets.errors import PresetFileError, PresetWarning
from data_gen.presets.presets_json import ImportedPreset, load_presets
from data_gen.presets.processing import presets_to_raw, process_presets
from data_gen.render.pool import pool_render_fn
from data_gen.synths.amsynth import AMSYNTH_VST_PATH
from data_gen.synths.registry import get_spec

FACTORY_BANK = "/usr/share/amsynth/banks/amsynth_factory.bank"


@dataclasses.dataclass
class FakeResult:
    rms: float
    failed: bool = False
    error: str | None = None


def _fake_render(rms_of):
    calls = []

    def render(presets_NxP):
        calls.append(len(presets_NxP))
        return [rms_of(row) for row in presets_NxP]

    return render, calls


def _preset(name, **values):
    return ImportedPreset(name, f"test.bank#{name}", values)


def test_missing_takes_default_not_zero():
    spec = get_spec("amsynth")
    raw, kept, missing, skipped = presets_to_raw(spec, [_preset("a", amp_attack=0.2)])
    assert kept == [0] and skipped == {}
    assert raw[0, spec.used_position("amp_attack")] == 0.2
    i = spec.used_position("filter_cutoff")
    assert raw[0, i] == spec.param("filter_cutoff").default == 1.0
    assert missing["filter_cutoff"] == 1 and "amp_attack" not in missing


def test_reference_compat_sets_missing_to_zero():
    spec = get_spec("amsynth")
    preset = _preset("a", amp_attack=0.2)
    raw = presets_to_raw(spec, [preset], reference_compat=True)[0]
    assert raw[0, spec.used_position("filter_cutoff")] == 0.0
    assert raw[0, spec.used_position("amp_attack")] == 0.2
    report = process_presets(spec, [preset], reference_compat=True).report
    assert report["missing_parameters_set_to_zero"]["filter_cutoff"] == 1
    assert report["missing_parameters_set_to_default"] == {}


def test_clip_snap_dedupe_render_and_report():
    spec = get_spec("amsynth")
    attack = spec.used_position("amp_attack")
    lfo = spec.used_position("lfo_waveform")
    presets = [
        _preset("long attack", amp_attack=0.9),  # clipped to 0.5
        _preset("s&h lfo", lfo_waveform=4 / 6),  # snapped to the nearest kept wave
        _preset("copy", amp_attack=0.5),  # same as the first after clipping
        _preset("quiet", amp_attack=0.1),
        _preset("crash", amp_attack=0.3),
    ]

    def rms_of(row):
        if row[attack] == np.float32(0.1):
            return FakeResult(0.001)
        if row[attack] == np.float32(0.3):
            return FakeResult(float("nan"), failed=True, error="boom")
        return FakeResult(0.2)

    render, calls = _fake_render(rms_of)
    out = process_presets(spec, presets, render=render)
    assert out.names == ["long attack", "s&h lfo"]
    assert calls == [4]  # the duplicate is not rendered
    assert out.vectors[0, attack] == 0.5
    assert spec.param("lfo_waveform").values[int(out.vectors[1, lfo])] == 0.833
    reasons = {d["name"]: d["reason"] for d in out.report["dropped"]}
    assert reasons["copy"].startswith("duplicate of 'long attack'")
    assert reasons["quiet"].startswith("rms 0.001 outside")
    assert reasons["crash"] == "render failed: boom"
    assert out.report["values_clipped_or_snapped"] == {"amp_attack": 1, "lfo_waveform": 1}
    assert out.report["num_kept"] == 2 and out.report["num_input"] == 5
    np.testing.assert_allclose(out.rms, [0.2, 0.2])
    json.dumps(out.report)  # the report is plain JSON
    again = process_presets(spec, out.to_imported())
    np.testing.assert_array_equal(again.vectors, out.vectors)  # idempotent


def test_no_render_keeps_all_unique():
    spec = get_spec("dx7")
    presets = [_preset("a", feedback=1.0), _preset("b", feedback=1.0), _preset("c")]
    out = process_presets(spec, presets)
    assert out.names == ["a", "c"] and not out.report["rendered"]
    assert np.isnan(out.rms).all()
    spec.check_presets(out.vectors)


def test_bad_presets_strict_and_lenient():
    spec = get_spec("amsynth")
    presets = [_preset("ok"), _preset("typo", amp_atack=0.1), _preset("big", amp_decay=1.5)]
    with pytest.raises(PresetFileError, match=r"test.bank#typo: preset 'typo'.*amp_atack"):
        process_presets(spec, presets)
    with pytest.warns(PresetWarning):
        out = process_presets(spec, presets, lenient=True)
    assert out.names == ["ok"]
    assert [d["name"] for d in out.report["dropped"]] == ["typo", "big"]
    assert "amp_atack" in out.report["dropped"][0]["reason"]


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.builds(
            json.dumps,
            st.recursive(
                st.none() | st.booleans() | st.floats() | st.text(max_size=10),
                lambda inner: (
                    st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4)
                ),
                max_leaves=12,
            ),
        ),
    )
)
def test_random_presets_json_only_raises_preset_errors(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.json"
        path.write_text(text)
        for candidate in (
            text,
            text.replace("{", '{"format": "jaxproxy-presets", "version": 1, ', 1),
        ):
            path.write_text(candidate)
            with contextlib.suppress(PresetFileError):
                load_presets(path)


@pytest.mark.skipif(
    not (os.path.exists(AMSYNTH_VST_PATH) and os.path.exists(FACTORY_BANK)),
    reason="Debian amsynth not installed",
)
def test_amsynth_bank_through_the_render_pool(capsys):
    spec = get_spec("amsynth")
    presets = read_amsynth_bank(FACTORY_BANK)[:6]
    out = process_presets(spec, presets, render=pool_render_fn(spec, num_workers=1))
    assert "render amsynth presets" in capsys.readouterr().err  # a progress bar, not silence
    assert out.report["rendered"] and len(out.names) + len(out.report["dropped"]) == 6
    assert len(out.names) >= 3  # factory sounds are audible
    assert np.all((out.rms > 0.01) & (out.rms < 1.0))
