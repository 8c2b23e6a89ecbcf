"""The sound-matching audio metrics of the paper (auraloss STFT, mSTFT, Mel; MFCCD), in numpy.

Facts 9.7: every metric compares a prediction with a target clip (mono, 32 kHz, 5 s in the paper).
STFT, mSTFT and Mel are auraloss 0.4.0's `STFTLoss`, `MultiResolutionSTFTLoss` and `MelSTFTLoss`
with spectral convergence + L1 log-magnitude; MFCCD is synth-proxy's `MFCCDist` (its MelSTFT,
40 orthonormal DCT-II coefficients without c0, mean L1), reported times 0.25; `a_mean` is the mean
of the four as reported.

auraloss computes spectral convergence over the whole batch (one Frobenius norm of the stacked
spectrograms), so a batch value is not the mean of per-example values. Each metric therefore
offers `reduction="example"` (float64[B]: the auraloss value of each example alone) and
`reduction="batch"` (auraloss's value for the batch as one call). `reference_metrics` follows the
reference's test protocol: auraloss batch values over batches of 32, averaged weighted by batch
size, as Lightning logs them. Everything runs in float64, one example at a time (bounded memory).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from data_gen.audio.filterbank import dct_ortho
from jaxproxy.mel import ssm_log_mel

SAMPLE_RATE = 32000
MFCCD_WEIGHT = 0.25  # lw_mfccd: the reference logs MFCCD x 0.25 (and a_mean uses that value)
STFT_EPS = 1e-8  # auraloss: |X| = sqrt(clamp(re^2 + im^2, eps))
METRICS = ("stft", "mstft", "mel", "mfccd")
REFERENCE_BATCH = 32  # the reference's test batch size

# (fft, hop, win) of each metric; auraloss's defaults for STFTLoss and MultiResolutionSTFTLoss.
STFT_RES = (1024, 256, 1024)
MSTFT_RES = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))
MEL_BINS = 128
MFCC_COEFFS = 40


def _frames(audio_N: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Centred frames with reflect padding, as torch.stft(center=True): float64[T, n_fft]."""
    pad = n_fft // 2
    if audio_N.shape[-1] <= pad:
        raise ValueError(
            f"audio metrics: clips of {audio_N.shape[-1]} samples are too short for n_fft={n_fft} "
            f"(reflect padding needs more than {pad})"
        )
    padded = np.pad(np.asarray(audio_N, np.float64), (pad, pad), mode="reflect")
    return np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]


@functools.lru_cache(maxsize=16)
def _window(win_length: int, n_fft: int) -> np.ndarray:
    """Periodic Hann (torch.hann_window's default) centred in n_fft zeros, as torch.stft pads
    a shorter window on both sides."""
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win_length) / win_length)
    left = (n_fft - win_length) // 2
    return np.pad(window, (left, n_fft - win_length - left))


def _power(audio_N: np.ndarray, n_fft: int, hop: int, win: int) -> np.ndarray:
    """|STFT|^2, one-sided: float64[n_fft // 2 + 1, T]."""
    spec_TxF = np.fft.rfft(_frames(audio_N, n_fft, hop) * _window(win, n_fft), axis=-1)
    return (spec_TxF.real**2 + spec_TxF.imag**2).T


def _hz_to_slaney_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, np.float64)
    linear = hz * 3.0 / 200.0
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _slaney_mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (mel - 15.0)), mel * 200 / 3)


@functools.lru_cache(maxsize=8)
def slaney_mel_banks(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """librosa's default mel filterbank (Slaney scale and area norm, 0 to Nyquist), as auraloss
    builds it: float64[n_mels, n_fft // 2 + 1]."""
    fft_hz_F = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges_hz = _slaney_mel_to_hz(
        np.linspace(_hz_to_slaney_mel(0.0), _hz_to_slaney_mel(sample_rate / 2.0), n_mels + 2)
    )
    widths = np.diff(edges_hz)
    ramps_ExF = edges_hz[:, None] - fft_hz_F[None, :]
    lower_MxF = -ramps_ExF[:-2] / widths[:-1, None]
    upper_MxF = ramps_ExF[2:] / widths[1:, None]
    banks_MxF = np.maximum(0.0, np.minimum(lower_MxF, upper_MxF))
    return banks_MxF * (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]


def _check_pair(pred_BxN: np.ndarray, target_BxN: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred_BxN = np.atleast_2d(np.asarray(pred_BxN, np.float64))
    target_BxN = np.atleast_2d(np.asarray(target_BxN, np.float64))
    if pred_BxN.ndim != 2 or pred_BxN.shape != target_BxN.shape:
        raise ValueError(
            "audio metrics: predictions and targets must both be [batch, samples] of the same "
            f"shape, got {pred_BxN.shape} and {target_BxN.shape}"
        )
    if not (np.isfinite(pred_BxN).all() and np.isfinite(target_BxN).all()):
        raise ValueError("audio metrics: audio holds NaN or infinite samples")
    return pred_BxN, target_BxN


def _sc_logmag_terms(
    pred_BxN: np.ndarray, target_BxN: np.ndarray, n_fft: int, hop: int, win: int, mel: int | None
) -> np.ndarray:
    """Per example: [sum (Y - X)^2, sum Y^2, sum |log Y - log X|, element count]: float64[B, 4]."""
    banks = None if mel is None else slaney_mel_banks(SAMPLE_RATE, n_fft, mel)
    terms_Bx4 = np.empty((pred_BxN.shape[0], 4))
    for b, (pred_N, target_N) in enumerate(zip(pred_BxN, target_BxN, strict=True)):
        x_FxT, y_FxT = (
            np.sqrt(np.maximum(_power(a, n_fft, hop, win), STFT_EPS)) for a in (pred_N, target_N)
        )
        if banks is not None:  # auraloss puts the mel filterbank on magnitudes, no second clamp
            x_FxT, y_FxT = banks @ x_FxT, banks @ y_FxT
        terms_Bx4[b] = (
            np.sum((y_FxT - x_FxT) ** 2),
            np.sum(y_FxT**2),
            np.sum(np.abs(np.log(y_FxT) - np.log(x_FxT))),
            y_FxT.size,
        )
    return terms_Bx4


def _reduce(terms_Bx4: np.ndarray, reduction: str) -> np.ndarray | float:
    """Spectral convergence + mean log-magnitude L1, per example or pooled over the batch."""
    if reduction == "example":
        return (
            np.sqrt(terms_Bx4[:, 0]) / np.sqrt(terms_Bx4[:, 1]) + terms_Bx4[:, 2] / terms_Bx4[:, 3]
        )
    if reduction == "batch":
        total = terms_Bx4.sum(axis=0)
        return float(np.sqrt(total[0]) / np.sqrt(total[1]) + total[2] / total[3])
    raise ValueError(f"audio metrics: reduction must be 'example' or 'batch', got {reduction!r}")


def stft_distance(
    pred_BxN: np.ndarray, target_BxN: np.ndarray, reduction: str = "example"
) -> np.ndarray | float:
    """auraloss `STFTLoss()` (fft 1024, hop 256, win 1024, periodic Hann): SC + log-mag L1."""
    pred_BxN, target_BxN = _check_pair(pred_BxN, target_BxN)
    return _reduce(_sc_logmag_terms(pred_BxN, target_BxN, *STFT_RES, mel=None), reduction)


def mstft_distance(
    pred_BxN: np.ndarray, target_BxN: np.ndarray, reduction: str = "example"
) -> np.ndarray | float:
    """auraloss `MultiResolutionSTFTLoss()`: the STFT distance averaged over three resolutions."""
    pred_BxN, target_BxN = _check_pair(pred_BxN, target_BxN)
    values = [
        _reduce(_sc_logmag_terms(pred_BxN, target_BxN, *res, mel=None), reduction)
        for res in MSTFT_RES
    ]
    return sum(values) / len(values)


def mel_distance(
    pred_BxN: np.ndarray,
    target_BxN: np.ndarray,
    reduction: str = "example",
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray | float:
    """auraloss `MelSTFTLoss(sample_rate, n_mels=128)`: SC + log-mag L1 on mel magnitudes."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"mel_distance: the paper's metrics are at {SAMPLE_RATE} Hz")
    pred_BxN, target_BxN = _check_pair(pred_BxN, target_BxN)
    return _reduce(_sc_logmag_terms(pred_BxN, target_BxN, *STFT_RES, mel=MEL_BINS), reduction)


@functools.lru_cache(maxsize=1)
def _dct() -> np.ndarray:
    return dct_ortho(MFCC_COEFFS, MEL_BINS).astype(np.float64)


def mfcc(audio_N: np.ndarray) -> np.ndarray:
    """synth-proxy's MFCC: its MelSTFT (the estimator's front end, `jaxproxy.mel.ssm_log_mel`),
    orthonormal DCT-II to 40 coefficients, c0 dropped: float64[39, T]."""
    db_MxT = ssm_log_mel(np.asarray(audio_N, np.float64)).astype(np.float64)
    return (db_MxT.T @ _dct())[:, 1:].T


def mfcc_distance(
    pred_BxN: np.ndarray, target_BxN: np.ndarray, reduction: str = "example"
) -> np.ndarray | float:
    """synth-proxy's `MFCCDist(n_mels=128, n_mfcc=40, distance="L1", sr=32000)`, unweighted.

    A mean over equal-sized examples, so the batch value is the mean of the example values.
    """
    pred_BxN, target_BxN = _check_pair(pred_BxN, target_BxN)
    per_example = np.array(
        [np.mean(np.abs(mfcc(p) - mfcc(t))) for p, t in zip(pred_BxN, target_BxN, strict=True)]
    )
    if reduction == "example":
        return per_example
    if reduction == "batch":
        return float(per_example.mean())
    raise ValueError(f"audio metrics: reduction must be 'example' or 'batch', got {reduction!r}")


_FUNCTIONS: dict[str, Callable[..., np.ndarray | float]] = {
    "stft": stft_distance,
    "mstft": mstft_distance,
    "mel": mel_distance,
    "mfccd": mfcc_distance,
}


def _per_example_terms(pred_BxN: np.ndarray, target_BxN: np.ndarray) -> dict[str, list]:
    """Every spectrogram computed once: the terms each metric reduces, per example."""
    mfcc_l1 = [
        np.mean(np.abs(mfcc(p) - mfcc(t))) for p, t in zip(pred_BxN, target_BxN, strict=True)
    ]
    return {
        "stft": [_sc_logmag_terms(pred_BxN, target_BxN, *STFT_RES, mel=None)],
        "mstft": [_sc_logmag_terms(pred_BxN, target_BxN, *res, mel=None) for res in MSTFT_RES],
        "mel": [_sc_logmag_terms(pred_BxN, target_BxN, *STFT_RES, mel=MEL_BINS)],
        "mfccd": [np.array(mfcc_l1)],
    }


def _reduce_metric(name: str, terms: list, rows: slice | np.ndarray, reduction: str):
    if name == "mfccd":
        values = terms[0][rows]
        return values if reduction == "example" else float(values.mean())
    return sum(_reduce(t[rows], reduction) for t in terms) / len(terms)


def _as_reported(values: dict) -> dict:
    """MFCCD x 0.25, then a_mean = mean of the four reported values (the reference's logging)."""
    values["mfccd"] = values["mfccd"] * MFCCD_WEIGHT
    values["a_mean"] = sum(values[m] for m in METRICS) / len(METRICS)
    return values


def compute_metrics(
    pred_BxN: np.ndarray, target_BxN: np.ndarray, batch_size: int = REFERENCE_BATCH
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Both views from one pass over the spectrograms.

    Returns:
      The reference's test values: auraloss batch values over consecutive batches of
      `batch_size`, averaged weighted by batch size; MFCCD x 0.25; `a_mean`.
      Each metric per example as reported (MFCCD x 0.25) plus `a_mean`: float64[B] each.
    """
    pred_BxN, target_BxN = _check_pair(pred_BxN, target_BxN)
    if batch_size < 1:
        raise ValueError(f"audio metrics: batch_size must be >= 1, got {batch_size}")
    terms = _per_example_terms(pred_BxN, target_BxN)
    n = pred_BxN.shape[0]
    per_example = {m: _reduce_metric(m, terms[m], slice(None), "example") for m in METRICS}
    total = dict.fromkeys(METRICS, 0.0)
    for start in range(0, n, batch_size):
        rows = slice(start, min(start + batch_size, n))
        for name in METRICS:
            total[name] += _reduce_metric(name, terms[name], rows, "batch") * (rows.stop - start)
    reference = _as_reported({m: v / n for m, v in total.items()})
    return reference, _as_reported(per_example)


def example_metrics(pred_BxN: np.ndarray, target_BxN: np.ndarray) -> dict[str, np.ndarray]:
    """Each metric per example as reported (MFCCD x 0.25) plus `a_mean`: float64[B] each."""
    return compute_metrics(pred_BxN, target_BxN)[1]


def reference_metrics(
    pred_BxN: np.ndarray, target_BxN: np.ndarray, batch_size: int = REFERENCE_BATCH
) -> dict[str, float]:
    """The reference's test values (see `compute_metrics`)."""
    return compute_metrics(pred_BxN, target_BxN, batch_size)[0]
