"""Every benchmark script imports (they run only by hand, so a broken import would go unnoticed)."""

import importlib
import pkgutil

import pytest

import benchmarks

MODULES = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_imports(name):
    module = importlib.import_module(f"benchmarks.{name}")
    assert module.__doc__, f"benchmarks.{name} has no module docstring"


def test_test_protocol_benchmark_worker_gives_a_valid_mrr():
    from benchmarks import test_protocol

    result = test_protocol.worker(chunk=0, dims_per_step=0, runs=3, examples=600, dim=24)
    assert 0.0 < result["mrr"] <= 1.0 and result["wall_s"] > 0
