"""EfficientAT embeddings with random weights: dims, windows, determinism, batching, edge inputs."""

import numpy as np
import pytest
import torch

from data_gen.audio import get_audio_model
from data_gen.audio.efficientat import WINDOW, WindowedBlockEmbedding
from data_gen.audio.frontend import efficientat_mel

DIMS = {"mn04": 192, "mn04_mel": 320, "mn10": 472, "mn10_mel": 600, "mn20": 944, "mn20_mel": 1072}


def _clips(batch, samples, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / 32000
    freqs = rng.uniform(100, 2000, size=(batch, 1))
    return (
        0.5 * np.sin(2 * np.pi * freqs * t) + 0.05 * rng.standard_normal((batch, samples))
    ).astype(np.float32)


@pytest.fixture(scope="module")
def mn04():
    return get_audio_model("mn04", weights="random", device="cpu")


@pytest.mark.parametrize("name", sorted(DIMS))
def test_dims_of_every_variant(name):
    model = get_audio_model(name, weights="random:1", device="cpu")
    assert (model.embedding_dim, model.sample_rate) == (DIMS[name], 32000)
    assert model.embed(_clips(2, 3000)).shape == (2, DIMS[name])


def test_embedding_is_mean_of_independent_windows(mn04):
    audio = _clips(2, 9000)
    module, front = mn04.module, efficientat_mel()
    with torch.inference_mode():
        padded = np.pad(audio, ((0, 0), (WINDOW // 2, WINDOW // 2)), mode="reflect")
        starts = range(0, padded.shape[1] - WINDOW + 1, 1600)
        assert len(starts) == 9000 // 1600 + 1
        expected = [
            module.window_embeddings(
                front(torch.from_numpy(np.stack([r[s : s + WINDOW] for s in starts])))
            )
            .mean(0)
            .numpy()
            for r in padded
        ]
    np.testing.assert_allclose(mn04.embed(audio), np.stack(expected), rtol=1e-4, atol=1e-8)


def test_mel_variant_is_mel_means_then_block_features():
    audio = _clips(2, 6000)
    plain = get_audio_model("mn04", weights="random:5", device="cpu").embed(audio)
    with_mel = get_audio_model("mn04_mel", weights="random:5", device="cpu")
    emb = with_mel.embed(audio)
    np.testing.assert_allclose(emb[:, 128:], plain, rtol=1e-6, atol=1e-10)
    # The mel part is a mean of the (ln(mel + 1e-5) + 4.5) / 5 values: bounded, far from zero.
    assert np.all(emb[:, :128] > (np.log(1e-5) + 4.5) / 5 - 1e-6)


def test_deterministic_and_seeded():
    audio = _clips(3, 4000)
    a = get_audio_model("mn04", weights="random:7", device="cpu").embed(audio)
    b = get_audio_model("mn04", weights="random:7", device="cpu").embed(audio)
    c = get_audio_model("mn04", weights="random:8", device="cpu").embed(audio)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_batched_equals_one_by_one(mn04):
    audio = _clips(5, 8000, seed=2)
    batched = mn04.embed(audio)
    single = np.concatenate([mn04.embed(audio[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(batched, single, rtol=1e-5, atol=1e-6 * np.abs(batched).max())
    small_chunks = WindowedBlockEmbedding(0.4, False, window_chunk=7)
    small_chunks.load_state_dict(mn04.module.state_dict())
    with torch.inference_mode():
        chunked = small_chunks.eval()(torch.from_numpy(audio)).numpy()
    np.testing.assert_allclose(chunked, batched, rtol=1e-5, atol=1e-6 * np.abs(batched).max())


def test_silence_and_shortest_input(mn04):
    silence = mn04.embed(np.zeros((2, 32000), np.float32))
    assert np.isfinite(silence).all()
    np.testing.assert_array_equal(silence[0], silence[1])
    assert np.isfinite(mn04.embed(_clips(1, mn04.min_samples))).all()
    with pytest.raises(ValueError, match="too short"):
        mn04.embed(_clips(1, WINDOW // 2))


def test_bad_input_is_rejected(mn04):
    with pytest.raises(ValueError, match=r"\[batch, samples\]"):
        mn04.embed(np.zeros(32000, np.float32))
    bad = _clips(1, 4000)
    bad[0, 10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mn04.embed(bad)


def test_version_names_the_weights():
    model = get_audio_model("mn20_mel", weights="random:3", device="cpu")
    assert "mn20_mel" in model.version and "random-seed3" in model.version
    with pytest.raises(ValueError, match="integer seed"):
        get_audio_model("mn04", weights="random:x")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mn04", "mn20_mel"])
def test_paper_clip_length(name):
    # The paper's renders: 5 s at 32 kHz -> 101 windows per clip, averaged.
    model = get_audio_model(name, weights="random", device="cpu")
    emb = model.embed(_clips(3, 160000))
    assert emb.shape == (3, DIMS[name]) and np.isfinite(emb).all()
