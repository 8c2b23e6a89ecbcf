"""Tests of the amsynth spec and its native <-> normalized mapping, checked against the plug-in."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from data_gen.synths.amsynth import AMSYNTH_NATIVE, AMSYNTH_VST_PATH, amsynth_spec

NORMALIZED = (0.0, 0.1, 0.25, 0.37, 0.5, 0.75, 0.93, 1.0)
FACTORY_BANK = "/usr/share/amsynth/banks/amsynth_factory.bank"


def _bank_values() -> list[tuple[str, float]]:
    """(parameter, native value) of the first presets of amsynth's factory bank."""
    if not os.path.exists(FACTORY_BANK):
        return []
    out = []
    with open(FACTORY_BANK) as f:
        for line in f:
            parts = line.split()
            if parts[:1] == ["<parameter>"]:
                out.append((parts[1], float(parts[2])))
    return out[:400]


def _bank_pairs() -> list[tuple[int, float]]:
    names = list(AMSYNTH_NATIVE)
    return [(names.index(n), AMSYNTH_NATIVE[n][0].to_normalized(v)) for n, v in _bank_values()]


# One engine in a fresh interpreter: DawDreamer must not share a process with other engines.
_PROBE = """
import json, sys
import dawdreamer as daw
engine = daw.RenderEngine(32000, 128)
plugin = engine.make_plugin_processor("amsynth", sys.argv[1])
values = json.loads(sys.argv[2])
pairs = json.loads(sys.argv[3])
out = {"names": [], "defaults": [], "texts": [], "pair_texts": []}
for d in plugin.get_parameters_description():
    out["names"].append(d["name"])
    out["defaults"].append(float(d["text"]))
for i in range(plugin.get_plugin_parameter_size()):
    row = []
    for v in values:
        plugin.set_parameter(i, v)
        row.append(plugin.get_parameter_text(i))
    out["texts"].append(row)
for i, v in pairs:
    plugin.set_parameter(i, v)
    out["pair_texts"].append(plugin.get_parameter_text(i))
print("JSON" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def plugin_report():
    if not os.path.exists(AMSYNTH_VST_PATH):
        pytest.skip(f"amsynth plug-in not installed at {AMSYNTH_VST_PATH}")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _PROBE,
            AMSYNTH_VST_PATH,
            json.dumps(NORMALIZED),
            json.dumps(_bank_pairs()),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = [s for s in proc.stdout.splitlines() if s.startswith("JSON")]
    assert proc.returncode == 0 and line, proc.stderr[-2000:]
    return json.loads(line[0][4:])


def test_counts_and_layout():
    spec = amsynth_spec()
    assert len(spec.params) == 41
    assert [p.index for p in spec.params] == list(range(41))
    counts = spec.counts()
    assert counts["used"] + counts["excluded"] == 41
    assert counts["used"] == counts["num"] + counts["bin"] + counts["cat"]
    assert not spec.param("master_vol").used
    assert spec.param("osc1_waveform").kind == "cat"
    assert spec.param("osc2_sync").kind == "bin"
    # S&H and noise LFOs excluded: the allowed raw values skip 3/6 and 4/6.
    assert spec.param("lfo_waveform").values == (0.0, 0.167, 0.333, 0.833, 1.0)
    assert spec.fingerprint() == amsynth_spec().fingerprint()


def test_native_round_trip():
    for name, (rng, default) in AMSYNTH_NATIVE.items():
        natives = np.linspace(rng.min, rng.max, 9)
        if rng.step:
            natives = np.arange(rng.min, rng.max + rng.step / 2, rng.step)
        for v in natives:
            assert rng.to_native(rng.to_normalized(v)) == pytest.approx(v, abs=1e-9), name
        assert 0.0 <= rng.to_normalized(default) <= 1.0


def test_stepped_grid_reaches_every_step():
    # The spec's 3-decimal value grids must land on distinct native steps.
    spec = amsynth_spec()
    for p in spec.params:
        rng = AMSYNTH_NATIVE[p.name][0]
        if rng.step and p.kind != "bin":
            natives = [rng.to_native(v) for v in p.values]
            assert len(set(natives)) == len(natives), p.name


def test_names_and_defaults_match_plugin(plugin_report):
    spec = amsynth_spec()
    assert plugin_report["names"] == [p.name for p in spec.params]
    defaults = [p.default for p in spec.params]
    np.testing.assert_allclose(plugin_report["defaults"], defaults, atol=1e-5)


def test_mapping_reproduces_plugin_text(plugin_report):
    for name, texts in zip(plugin_report["names"], plugin_report["texts"], strict=True):
        rng = AMSYNTH_NATIVE[name][0]
        for normalized, text in zip(NORMALIZED, texts, strict=True):
            expected = rng.control_value(rng.to_native(normalized))
            assert float(text) == pytest.approx(expected, rel=1e-4, abs=1e-5), (name, normalized)


def test_bank_values_reach_the_plugin_exactly(plugin_report):
    # A bank's native value, sent normalized, must show amsynth's control value of that value.
    values = _bank_values()
    if not values:
        pytest.skip("amsynth factory bank not installed")
    assert len(plugin_report["pair_texts"]) == len(values)
    for (name, native), text in zip(values, plugin_report["pair_texts"], strict=True):
        expected = AMSYNTH_NATIVE[name][0].control_value(native)
        assert float(text) == pytest.approx(expected, rel=1e-4, abs=1e-5), (name, native, text)
