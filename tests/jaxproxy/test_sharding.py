"""Tests for the data-parallel mesh helpers on 8 fake CPU devices."""

import jax
import numpy as np
import pytest

from jaxproxy import sharding


def test_mesh_spans_all_devices():
    mesh = sharding.make_mesh()
    assert mesh.axis_names == ("data",)
    assert sharding.num_data_shards(mesh) == jax.device_count() == 8


def test_check_batch_divides():
    mesh = sharding.make_mesh()
    sharding.check_batch_divides(512, mesh)
    with pytest.raises(ValueError, match="100 must be a positive multiple of the 8 devices.*96"):
        sharding.check_batch_divides(100, mesh)


def test_host_local_to_global_shards_the_batch_axis():
    mesh = sharding.make_mesh()
    local = {"x": np.arange(32, dtype=np.float32).reshape(16, 2)}
    out = sharding.host_local_to_global(local, mesh)["x"]
    assert out.shape == (16, 2)
    assert [s.data.shape for s in out.addressable_shards] == [(2, 2)] * 8
    np.testing.assert_array_equal(np.asarray(out), local["x"])
    rep = sharding.host_local_to_global(local, mesh, jax.sharding.PartitionSpec())["x"]
    assert rep.sharding.is_fully_replicated
    params = jax.device_put(np.ones(3), sharding.replicated(mesh))
    assert params.sharding.is_fully_replicated
