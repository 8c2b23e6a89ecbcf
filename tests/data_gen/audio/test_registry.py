"""The registry: names, errors people can act on, device/dtype choices, input resampling."""

import numpy as np
import pytest
import torch

from data_gen.audio import get_audio_model, list_audio_models
from data_gen.audio.resample import resample


def test_names():
    names = list_audio_models()
    assert {"mn04", "mn04_mel", "mn10", "mn20", "mn20_mel", "mel128", "mfcc40", "mstft"} <= set(
        names
    )


def test_unknown_name_lists_choices():
    with pytest.raises(ValueError, match="unknown audio model 'mn05'.*mn04"):
        get_audio_model("mn05")


def test_bad_options():
    with pytest.raises(ValueError, match="no weights"):
        get_audio_model("mel128", weights="random")
    with pytest.raises(ValueError, match="CUDA"):
        get_audio_model("mn04", weights="random", device="cpu", dtype="float16")
    with pytest.raises(ValueError, match="dtype"):
        get_audio_model("mfcc40", device="cpu", dtype="int8")


def test_input_at_another_rate_is_resampled():
    model = get_audio_model("mn04", weights="random", device="cpu")
    t = np.arange(44100 // 4) / 44100
    audio = (0.5 * np.sin(2 * np.pi * 440 * t))[None].astype(np.float32)
    at_model_rate = resample(torch.from_numpy(audio), 44100, 32000).numpy()
    np.testing.assert_allclose(
        model.embed(audio, sample_rate=44100), model.embed(at_model_rate), rtol=1e-5, atol=1e-9
    )
    with pytest.raises(ValueError, match="too short"):
        model.embed(audio[:, :3000], sample_rate=44100)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_gpu_mixed_precision_close_to_float32(dtype):
    audio = np.random.default_rng(0).uniform(-0.5, 0.5, (4, 16000)).astype(np.float32)
    reference = get_audio_model("mn04_mel", weights="random", device="cpu").embed(audio)
    fast = get_audio_model("mn04_mel", weights="random", device="cuda", dtype=dtype).embed(audio)
    assert fast.dtype == np.float32
    np.testing.assert_allclose(fast, reference, rtol=0.05, atol=0.02 * np.abs(reference).max())
    cuda = get_audio_model("mn04_mel", weights="random", device="cuda", dtype=dtype)
    assert cuda.version.endswith(f":autocast-{dtype}")  # datasets record how they were embedded


def test_generate_float16_needs_cuda_and_says_so(tmp_path, capsys):
    from data_gen.generate import main

    argv = ["--synth", "minisub", "--audio-model", "mn04", "--weights", "random", "--split",
            "t", "--size", "4", "--seed", "0", "--dtype", "float16", "--device", "cpu",
            "--out", str(tmp_path / "out")]  # fmt: skip
    with pytest.raises(SystemExit):
        main(argv)
    assert "dtype 'float16' needs a CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_runs_offline_only_with_cached_official_weights(tmp_path, monkeypatch) -> None:
    from data_gen.audio import runs_offline
    from data_gen.audio.weights import CHECKPOINT_FILES

    monkeypatch.setenv("JAXPROXY_CACHE", str(tmp_path))
    assert runs_offline("mel128") and runs_offline("mstft")
    assert not runs_offline("mn04") and not runs_offline("mn04_mel")
    (tmp_path / "efficientat").mkdir()
    (tmp_path / "efficientat" / CHECKPOINT_FILES["mn04_as"]).write_bytes(b"x")
    assert runs_offline("mn04") and runs_offline("mn04_mel") and not runs_offline("mn20")
    with pytest.raises(ValueError, match="unknown audio model"):
        runs_offline("clap")
