"""Rendering predictions through the render service, and the bounded validation hook (minisub)."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from data_gen.synths.registry import get_spec
from data_gen.synths.sampling import PresetSampler
from jaxproxy.matching.evaluation import ValidationHook, score_audio
from jaxproxy.matching.render_client import RenderClient, RenderError


@pytest.fixture(scope="module")
def spec():
    return get_spec("minisub")


@pytest.fixture(scope="module")
def presets(spec):
    return PresetSampler(spec, seed=11).sample_batch(np.arange(6))


def test_the_service_renders_what_the_renderer_renders(spec, presets, minisub_clips):
    with RenderClient(spec.to_json(), workers=1) as client:
        assert (client.sample_rate, client.num_samples) == (32000, 160000)
        audio, failed = client.render(PresetSampler(spec, seed=7).sample_batch(np.arange(6)))
    assert not failed.any()
    np.testing.assert_array_equal(audio, minisub_clips)


def test_the_jax_side_never_imports_dawdreamer_or_torch():
    code = textwrap.dedent(
        """
        import sys, numpy as np
        from data_gen.synths.registry import get_spec
        from jaxproxy.matching.render_client import RenderClient
        from jaxproxy.matching.evaluation import score_audio
        spec = get_spec("minisub")
        with RenderClient(spec.to_json(), workers=1) as client:
            audio, failed = client.render(np.full((1, spec.num_used), 0.0, np.float32))
        score_audio(audio, audio)
        assert audio.shape == (1, 160000), audio.shape
        print(sorted(m for m in ("dawdreamer", "torch") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_bad_spec_is_one_clear_error():
    with pytest.raises(RenderError, match="render service for synth 'nope'.*format_version"):
        RenderClient({"name": "nope", "params": []})


def test_validation_hook_scores_a_fixed_subset(spec, presets):
    with ValidationHook(spec.to_json(), presets, max_examples=4, workers=1) as hook:
        assert hook.num_examples == 4 and hook.target_audio.shape == (4, 160000)
        perfect = hook(presets[:4])
        assert perfect["a_mean"] == pytest.approx(0.0, abs=1e-12)
        assert perfect["num_mae"] == 0.0 and perfect["cat_acc"] == 1.0
        assert perfect["bin_acc"] == 1.0 and perfect["render_failures"] == 0.0
        other = PresetSampler(spec, seed=12).sample_batch(np.arange(4))
        worse = hook.submit(other).result(timeout=120)
        assert worse["a_mean"] > 0.1 and worse["num_mae"] > 0.05
        assert set(worse) >= {"stft", "mstft", "mel", "mfccd", "cat_acc_macro"}
        assert hook(other) == worse  # deterministic renders and metrics
        with pytest.raises(ValueError, match="first 4 validation examples"):
            hook(presets)


def test_failed_renders_are_left_out_and_marked():
    rng = np.random.default_rng(0)
    pred, target = rng.normal(size=(3, 8000)), rng.normal(size=(3, 8000))
    failed = np.array([False, True, False])
    metrics, per_example = score_audio(pred, target, failed, batch_size=1)
    assert np.isnan(per_example["stft"][1]) and np.isfinite(per_example["stft"][[0, 2]]).all()
    assert metrics["stft"] == pytest.approx(per_example["stft"][[0, 2]].mean())


def test_metrics_over_processes_equal_one_process():
    from jaxproxy.matching import audio_metrics
    from jaxproxy.matching.evaluation import parallel_metrics

    rng = np.random.default_rng(1)
    pred, target = rng.normal(size=(5, 4000)), rng.normal(size=(5, 4000))
    one = audio_metrics.compute_metrics(pred, target, batch_size=2)
    two = parallel_metrics(pred, target, batch_size=2, workers=2)  # chunks of 4 and 1
    for name in one[0]:
        assert two[0][name] == pytest.approx(one[0][name], rel=1e-12)
        np.testing.assert_allclose(two[1][name], one[1][name], rtol=1e-12)
