"""The dx7 spec: Dexed-like typing, the VCED map, and addresses checked against compiled Faust."""

import numpy as np
import pytest

from data_gen.synths.dx7 import (
    DX7_ALGORITHM_PARAM,
    DX7_NUM_ALGORITHMS,
    DX7_VCED,
    algorithm_of,
    dx7_dsp_source,
    dx7_spec,
)
from data_gen.synths.registry import get_spec


def test_mirrors_the_paper_dexed_spec():
    dx7, dexed = dx7_spec(), get_spec("dexed")
    assert dx7.counts() == {**dexed.counts(), "excluded": 45}  # dx7.lib has no operator switch
    assert dx7.onehot_width == dexed.onehot_width == 141
    for param in dx7.used_params:
        ref = next(p for p in dexed.params if p.name.rstrip(".") == param.name)
        assert ref.used and ref.kind == param.kind, param.name
        assert ref.cardinality == param.cardinality, param.name
        assert ref.interval == param.interval, param.name
        if ref.weights is not None:
            np.testing.assert_allclose(ref.weights, param.weights, atol=1e-4, err_msg=param.name)
    excluded = {p.name for p in dx7.excluded_params}
    assert excluded <= {p.name.rstrip(".") for p in dexed.excluded_params} | {"transpose"}


def test_algorithm_is_routed_not_a_slider():
    spec = dx7_spec()
    algo = spec.param(DX7_ALGORITHM_PARAM)
    assert algo.address is None and algo.kind == "cat" and algo.cardinality == DX7_NUM_ALGORITHMS
    assert all(p.address for p in spec.params if p.name != DX7_ALGORITHM_PARAM)
    assert algorithm_of(0) == 1 and algorithm_of(31) == 32
    assert "dx.algorithm(7)" in dx7_dsp_source(7)
    for bad in (0, 33):
        with pytest.raises(ValueError, match="1..32"):
            dx7_dsp_source(bad)


def test_vced_map_covers_every_byte_once():
    spec = dx7_spec()
    assert set(DX7_VCED) == {p.name for p in spec.params}
    offsets = sorted(offset for offset, _ in DX7_VCED.values())
    assert offsets == list(range(145))  # 6 x 21 operator bytes + 19 global bytes


def test_discrete_values_hit_distinct_slider_steps():
    # The renderer's contract: raw r -> round(min + r * span); allowed values must stay distinct.
    for param in dx7_spec().params:
        if param.values is None:
            continue
        span = DX7_VCED[param.name][1]
        steps = np.round(np.asarray(param.values) * span)
        assert len(set(steps)) == param.cardinality, param.name
        if param.cardinality == span + 1:
            np.testing.assert_array_equal(steps, np.arange(span + 1), err_msg=param.name)


def _compiled_description(algorithm: int) -> list[dict]:
    daw = pytest.importorskip("dawdreamer")
    engine = daw.RenderEngine(32000, 128)
    proc = engine.make_faust_processor("dx7")
    proc.num_voices = 2
    proc.set_dsp_string(dx7_dsp_source(algorithm))
    proc.compile()
    return proc.get_parameters_description()


def _check_addresses(description: list[dict]) -> None:
    spec = dx7_spec()
    sliders = [p for p in spec.params if p.address is not None]
    assert [d["name"] for d in description] == [p.address for p in sliders]
    for param, desc in zip(sliders, description, strict=True):
        assert desc["index"] == param.index
        assert desc["max"] - desc["min"] == DX7_VCED[param.name][1], param.name
        assert desc["step"] == 1.0


def test_addresses_match_compiled_algorithm_1():
    _check_addresses(_compiled_description(1))  # about 15 s of compile


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", range(2, DX7_NUM_ALGORITHMS + 1))
def test_addresses_match_every_algorithm(algorithm):
    _check_addresses(_compiled_description(algorithm))
