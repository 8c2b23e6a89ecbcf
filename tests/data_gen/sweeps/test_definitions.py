"""The attribute mappings: complete, valid parameter names, and the sweep spec built from them."""

import dataclasses

import numpy as np
import pytest

from data_gen.sweeps import build
from data_gen.sweeps.definitions import ATTRIBUTES, SYNTH_SWEEPS, Sweep, SynthSweeps, get_sweeps
from data_gen.synths.registry import get_spec


@pytest.mark.parametrize("synth", sorted(SYNTH_SWEEPS))
def test_every_attribute_is_swept_or_lacking_and_names_exist(synth) -> None:
    sweeps = get_sweeps(synth)
    assert set(sweeps.sweeps) | set(sweeps.lacks) == set(ATTRIBUTES)
    names = {p.name for p in get_spec(synth).params}
    assert sweeps.names() <= names
    for attribute, sweep in sweeps.sweeps.items():
        assert sweep.note, attribute
        assert len(build.sweep_values(sweep, 20)) == 20


def test_paper_attribute_count_and_lacks() -> None:
    assert len(ATTRIBUTES) == 13
    assert sorted(get_sweeps("minisub").lacks) == ["reverb_wet"]
    assert get_sweeps("amsynth").lacks == {}
    assert len(get_sweeps("dx7").sweeps) == 7  # no filter, no effects


def test_bad_definitions_are_refused() -> None:
    with pytest.raises(ValueError, match="interval"):
        Sweep(("cutoff",), (0.2, 1.5))
    with pytest.raises(ValueError, match="both swept and fixed"):
        Sweep(("cutoff",), (0.2, 0.8), {"cutoff": 0.1})
    with pytest.raises(ValueError, match="missing"):
        SynthSweeps("minisub", {"amp_attack": Sweep(("amp_attack",), (0, 1))}, {})
    with pytest.raises(ValueError, match="no attribute sweeps"):
        get_sweeps("diva")


def test_sweep_spec_uses_what_sweeps_set_and_widens_intervals() -> None:
    base = get_spec("dx7")
    spec = build.sweep_spec(base, get_sweeps("dx7"))
    assert not base.param("transpose").used and spec.param("transpose").used
    assert spec.num_used == base.num_used + 1
    assert all(p.interval == (0.0, 1.0) for p in spec.params)
    amsynth = get_spec("amsynth")
    widened = build.sweep_spec(amsynth, get_sweeps("amsynth"))
    assert widened.num_used == amsynth.num_used  # every swept amsynth parameter is already used
    assert amsynth.param("amp_attack").interval == (0.0, 0.5)
    bad = dataclasses.replace(get_sweeps("minisub"), synth="other")
    with pytest.raises(ValueError, match="has no parameters"):
        build.sweep_spec(amsynth, bad)


def test_downward_interval_runs_from_start_to_end() -> None:
    values = build.sweep_values(get_sweeps("dx7").sweeps["amp_attack"], 20)
    assert values[0] == pytest.approx(0.75) and values[-1] == pytest.approx(0.25)
    assert np.all(np.diff(values) < 0)
