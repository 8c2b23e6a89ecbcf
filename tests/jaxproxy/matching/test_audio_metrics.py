"""Audio metrics against the real auraloss 0.4.0 (and the reference's MFCC front end in torch)."""

import importlib.metadata

import auraloss.freq
import librosa
import numpy as np
import pytest
import torch

from jaxproxy.matching import audio_metrics as am

SR = 32000


def test_the_auraloss_we_compare_with_is_the_reference_version():
    assert importlib.metadata.version("auraloss") == "0.4.0"


def _auraloss_modules(dtype: torch.dtype) -> dict:
    kw = {"w_sc": 1.0, "w_log_mag": 1.0, "w_lin_mag": 0.0, "mag_distance": "L1"}
    mel = auraloss.freq.MelSTFTLoss(SR, n_mels=128, **kw)
    if dtype == torch.float64:  # auraloss builds its filterbank and windows in float32
        fb = librosa.filters.mel(sr=SR, n_fft=1024, n_mels=128, dtype=np.float64)
        mel.fb = torch.from_numpy(fb)[None]
    modules = {
        "stft": auraloss.freq.STFTLoss(**kw),
        "mstft": auraloss.freq.MultiResolutionSTFTLoss(**kw),
        "mel": mel,
    }
    for module in modules.values():
        for loss in getattr(module, "stft_losses", [module]):
            loss.window = torch.hann_window(loss.win_length, dtype=dtype)
    return modules


def _pairs(rng: np.random.Generator, n: int = 3, seconds: float = 1.0) -> tuple:
    """Noise, a decaying tone ending in digital silence, and a quiet chirp: log floors matter."""
    t = np.arange(int(SR * seconds)) / SR
    pred = rng.normal(size=(3, t.size)) * np.array([[0.3], [0.05], [0.2]])
    target = rng.normal(size=(3, t.size)) * 0.2
    target[1] = np.sin(2 * np.pi * 440 * t) * np.exp(-3 * t)
    target[1, t.size // 2 :] = 0.0
    target[2] = 1e-3 * np.sin(2 * np.pi * (200 + 2000 * t) * t)
    return pred[:n], target[:n]


@pytest.mark.parametrize("name", ["stft", "mstft", "mel"])
def test_batch_and_examples_equal_auraloss_float64(name):
    """In float64 both compute the same numbers: agreement to 1e-10, batch and per example."""
    pred, target = _pairs(np.random.default_rng(0))
    fn = {"stft": am.stft_distance, "mstft": am.mstft_distance, "mel": am.mel_distance}[name]
    ref = _auraloss_modules(torch.float64)[name]
    x, y = torch.from_numpy(pred)[:, None], torch.from_numpy(target)[:, None]
    np.testing.assert_allclose(fn(pred, target, "batch"), ref(x, y).item(), rtol=1e-10)
    per_example = [ref(x[i : i + 1], y[i : i + 1]).item() for i in range(len(pred))]
    np.testing.assert_allclose(fn(pred, target, "example"), per_example, rtol=1e-10)
    # The batch value pools spectral convergence: it is not the mean of the example values.
    assert abs(fn(pred, target, "batch") - np.mean(per_example)) > 1e-3


@pytest.mark.parametrize("name", ["stft", "mstft", "mel"])
def test_float32_auraloss_within_1e5(name):
    """auraloss as the reference runs it (float32 audio) agrees to 1e-5 relative."""
    pred, target = (a.astype(np.float32) for a in _pairs(np.random.default_rng(1), seconds=2.0))
    fn = {"stft": am.stft_distance, "mstft": am.mstft_distance, "mel": am.mel_distance}[name]
    ref = _auraloss_modules(torch.float32)[name]
    value = ref(torch.from_numpy(pred)[:, None], torch.from_numpy(target)[:, None]).item()
    np.testing.assert_allclose(fn(pred, target, "batch"), value, rtol=1e-5)


def test_rendered_audio_equals_auraloss(minisub_clips):
    """Five-second minisub notes (the paper's clip shape, silence after the release)."""
    pred, target = minisub_clips[:2], minisub_clips[2:4]
    modules = _auraloss_modules(torch.float64)
    x, y = torch.from_numpy(pred)[:, None].double(), torch.from_numpy(target)[:, None].double()
    got = {"stft": am.stft_distance, "mstft": am.mstft_distance, "mel": am.mel_distance}
    for name, fn in got.items():
        np.testing.assert_allclose(fn(pred, target, "batch"), modules[name](x, y).item(), rtol=1e-5)


def test_mfcc_equals_the_reference_melstft_in_torch(minisub_clips):
    """MFCC = the reference MelSTFT (data_gen torch port `ssm_mel`) -> ortho DCT, c0 dropped."""
    from data_gen.audio.filterbank import dct_ortho
    from data_gen.audio.frontend import ssm_mel

    audio = minisub_clips[:2].astype(np.float64)
    with torch.no_grad():
        mel_BxMxT = ssm_mel().double()(torch.from_numpy(audio))
    dct = torch.from_numpy(dct_ortho(40, 128)).double()
    ref_Bx39xT = torch.matmul(mel_BxMxT.transpose(-1, -2), dct)[..., 1:].transpose(-1, -2).numpy()
    # The torch port's window and filterbank are float32 buffers: coefficients (dB, up to ~200)
    # agree to a few thousandths of a dB, the distance to 1e-5 relative.
    for b in range(2):
        np.testing.assert_allclose(am.mfcc(audio[b]), ref_Bx39xT[b], rtol=1e-5, atol=5e-3)
    expected = np.mean(np.abs(ref_Bx39xT[0] - ref_Bx39xT[1]))
    np.testing.assert_allclose(am.mfcc_distance(audio[:1], audio[1:], "batch"), expected, rtol=1e-5)


def test_reported_values_and_reference_batching():
    pred, target = _pairs(np.random.default_rng(2), n=3, seconds=0.5)
    per = am.example_metrics(pred, target)
    np.testing.assert_allclose(per["mfccd"], 0.25 * am.mfcc_distance(pred, target))
    mean4 = (per["stft"] + per["mstft"] + per["mel"] + per["mfccd"]) / 4
    np.testing.assert_allclose(per["a_mean"], mean4)
    # Batches of one: the reference protocol is the mean of the example values.
    ref1 = am.reference_metrics(pred, target, batch_size=1)
    for name in (*am.METRICS, "a_mean"):
        np.testing.assert_allclose(ref1[name], per[name].mean(), rtol=1e-12)
    # Batches of 2 over 3 examples: (2 x batch([0, 1]) + 1 x batch([2])) / 3.
    ref2 = am.reference_metrics(pred, target, batch_size=2)
    expected = (2 * am.stft_distance(pred[:2], target[:2], "batch") + per["stft"][2]) / 3
    np.testing.assert_allclose(ref2["stft"], expected, rtol=1e-12)


def test_identical_clips_score_zero_and_bad_input_is_refused():
    pred, _ = _pairs(np.random.default_rng(3), n=2, seconds=0.5)
    for value in am.example_metrics(pred, pred).values():
        np.testing.assert_allclose(value, 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        am.stft_distance(pred, pred[:, :-1])
    with pytest.raises(ValueError, match="NaN"):
        am.mel_distance(pred, np.full_like(pred, np.nan))
    with pytest.raises(ValueError, match="too short"):
        am.stft_distance(pred[:, :100], pred[:, :100])
    with pytest.raises(ValueError, match="reduction"):
        am.mfcc_distance(pred, pred, "sum")
