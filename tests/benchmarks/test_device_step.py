"""benchmarks.device_step at a tiny size on the 8 forced host devices: runs, measures, agrees."""

import jax

from benchmarks import device_step


def test_tiny_data_parallel_step_runs_and_matches_one_device(capsys):
    assert len(jax.devices()) == 8  # tests/conftest.py
    result = device_step.main(
        ["--encoder=mlp_oh", "--smoke", "--batch=32", "--num_examples=512", "--steps=2"]
    )
    out = capsys.readouterr().out
    assert "8 x cpu" in out.lower() or "8 x " in out
    assert ": OK" in out  # the data-parallel step equals the single-device one
    assert result["samples_per_s"] > 0 and result["flops_per_step"] > 0
    assert 0 < result["mfu"] < 1.5  # a fraction of a measured peak (noisy on a shared machine)
    assert result["peak_memory_bytes"] > 0
