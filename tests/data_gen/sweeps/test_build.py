"""Preset grids, screening measure, candidate order and the DX7 algorithm filter."""

import numpy as np
import pytest

from data_gen.presets.presets_json import ImportedPreset
from data_gen.sweeps import build
from data_gen.sweeps.definitions import get_sweeps
from data_gen.synths.registry import get_spec
from data_gen.synths.sampling import PresetSampler


def _preset(spec, seed=0) -> ImportedPreset:
    raw = spec.to_render_values(PresetSampler(spec, seed).sample(0)[None])[0]
    return ImportedPreset(
        "p", "test", {p.name: float(v) for p, v in zip(spec.used_params, raw, strict=True)}
    )


def test_grid_sets_swept_values_and_extras_and_keeps_the_rest() -> None:
    base = get_spec("minisub")
    sweeps = get_sweeps("minisub")
    spec = build.sweep_spec(base, sweeps)
    preset = _preset(base)
    sweep = sweeps.sweeps["filter_cutoff"]
    values = build.sweep_values(sweep, 7)
    grid_VxP = build.preset_grid(spec, base, preset, sweep, values)
    raw_VxP = spec.to_render_values(grid_VxP)
    names = [p.name for p in spec.used_params]
    np.testing.assert_allclose(raw_VxP[:, names.index("cutoff")], values, atol=1e-6)
    assert np.all(raw_VxP[:, names.index("filter_type")] == 0.0)  # low-pass, as the extras say
    assert np.all(grid_VxP[:, names.index("filter_type")] == 0)  # stored as a category index
    for name in ("osc1_pulse_width", "drive", "amp_attack"):
        np.testing.assert_allclose(
            raw_VxP[:, names.index(name)], preset.parameters[name], atol=1e-6
        )


def test_grid_moves_tied_parameters_together_and_holds_excluded_ones() -> None:
    base = get_spec("dx7")
    sweeps = get_sweeps("dx7")
    spec = build.sweep_spec(base, sweeps)
    preset = _preset(base)
    names = [p.name for p in spec.used_params]
    attack = build.preset_grid(
        spec, base, preset, sweeps.sweeps["amp_attack"], np.array([0.7, 0.3])
    )
    for n in range(1, 7):
        np.testing.assert_allclose(
            attack[:, names.index(f"op{n}_eg_rate_1")], [0.7, 0.3], atol=1e-6
        )
    # transpose is excluded from the dx7 dataset spec: held at its default unless swept.
    assert np.all(attack[:, names.index("transpose")] == pytest.approx(0.5))
    pitch = build.preset_grid(
        spec, base, preset, sweeps.sweeps["pitch_coarse"], np.array([0.0, 1.0])
    )
    np.testing.assert_allclose(pitch[:, names.index("transpose")], [0.0, 1.0])


def test_spectral_gap_is_zero_for_equal_clips_and_grows_with_difference() -> None:
    t = np.arange(8000) / 8000
    a = np.sin(2 * np.pi * 440 * t)
    assert build.spectral_gap_db(a, a) == 0.0
    near = build.spectral_gap_db(a, 0.9 * a)
    far = build.spectral_gap_db(a, np.sin(2 * np.pi * 1800 * t))
    assert 0.0 < near < far


def test_screen_needs_both_ends_audible_and_different() -> None:
    t = np.arange(8000) / 8000
    a, b = 0.3 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 900 * t)
    ok = lambda rms: 0.01 < rms < 1.0
    p = ImportedPreset("p", "s", {})
    assert build.screen(a, b, p, ok, 0.3).kept
    assert not build.screen(a, a, p, ok, 0.3).kept  # the sweep changes nothing
    assert not build.screen(a, 0.001 * b, p, ok, 0.3).kept  # one end too quiet
    assert not build.screen(a, None, p, ok, 0.3).kept  # a render failed


def test_candidate_order_is_seeded_and_differs_per_attribute() -> None:
    first = build.candidate_order(50, 0, 3)
    np.testing.assert_array_equal(first, build.candidate_order(50, 0, 3))
    assert sorted(first) == list(range(50))
    assert not np.array_equal(first, build.candidate_order(50, 0, 4))


def test_keep_common_keeps_the_most_frequent_values() -> None:
    presets = [
        ImportedPreset(str(k), "s", {"algorithm": v}) for k, v in enumerate([0, 0, 0, 1, 1, 2])
    ]
    kept = build.keep_common(presets, "algorithm", 2)
    assert [p.name for p in kept] == ["0", "1", "2", "3", "4"]
