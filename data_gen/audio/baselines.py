"""The paper's hand-crafted baselines: mel128, mfcc40 and the multi-resolution spectrum mstft.

Settings (synth-proxy's `mel_only_model.py`, the audio-model-selection repo, paper appendix A.1):
44.1 kHz; mel128 = a torchaudio-style MelSpectrogram (2048-point FFT and periodic Hann window,
hop 1024, power divided by sum(window^2), 128 HTK mels 20 Hz-16 kHz without normalisation), dB
with a -80 dB floor, standardised with fixed AudioSet statistics, averaged over time. mfcc40 = the
same 128-mel dB frames through an orthonormal DCT-II, 40 coefficients, c0 kept (the paper says a
256-bin mel; the code behind its numbers uses 128). mstft = dB power spectra for window sizes
4096 ... 64 (hop = window / 2), each averaged over time, concatenated: 2049 + ... + 33 = 4071.
Its sample rate, window shape and log floor are given nowhere; we use 44.1 kHz, periodic Hann and
the mel128 dB floor (inferred).
"""

import torch
from torch import nn

from data_gen.audio.filterbank import dct_ortho, htk_mel_banks
from data_gen.audio.frontend import power_stft

SAMPLE_RATE = 44100
MEL_N_FFT = 2048
MEL_HOP = 1024
AUDIOSET_DB_MEAN = -4.2677393
AUDIOSET_DB_STD = 4.5689974
MSTFT_WINDOWS = (4096, 2048, 1024, 512, 256, 128, 64)
PIPELINE_VERSION = "v1"


def power_db(power: torch.Tensor) -> torch.Tensor:
    """10 log10(power) with a -80 dB floor."""
    return 10.0 * torch.log10(power.clamp_min(1e-8))


class MelBaseline(nn.Module):
    """Standardised dB mel frames averaged over time (128), or their first `n_mfcc` DCT terms."""

    def __init__(self, n_mfcc: int | None = None, n_mels: int = 128):
        super().__init__()
        self.embedding_dim = n_mfcc or n_mels
        self.min_samples = MEL_N_FFT // 2 + 1
        self.clips_per_forward = 64
        banks = htk_mel_banks(n_mels, MEL_N_FFT, SAMPLE_RATE, 20.0, 16000.0)
        self.register_buffer("window", torch.hann_window(MEL_N_FFT), persistent=False)
        self.register_buffer("mel_basis", torch.from_numpy(banks), persistent=False)
        dct = torch.from_numpy(dct_ortho(n_mfcc, n_mels)) if n_mfcc else None
        self.register_buffer("dct", dct, persistent=False)

    @torch.autocast("cuda", enabled=False)  # hand-crafted features stay in float32
    def forward(self, audio_BxN: torch.Tensor) -> torch.Tensor:
        power_BxFxT = power_stft(
            audio_BxN.float(), MEL_N_FFT, MEL_HOP, self.window, normalized=True
        )
        mel_db_BxMxT = power_db(torch.matmul(self.mel_basis, power_BxFxT))
        frames_BxMxT = (mel_db_BxMxT - AUDIOSET_DB_MEAN) / AUDIOSET_DB_STD
        if self.dct is not None:
            frames_BxMxT = torch.einsum("bmt,mk->bkt", frames_BxMxT, self.dct)
        return frames_BxMxT.mean(dim=-1)


class MultiResolutionSpectrum(nn.Module):
    """Time-averaged dB power spectra at several STFT resolutions, concatenated (mstft, 4071)."""

    def __init__(self, windows: tuple[int, ...] = MSTFT_WINDOWS):
        super().__init__()
        self.windows = windows
        self.embedding_dim = sum(n // 2 + 1 for n in windows)
        self.min_samples = max(windows) // 2 + 1
        # Each resolution's frames and spectrum take about 2 N floats: keep forwards small.
        self.clips_per_forward = 8
        for n in windows:
            self.register_buffer(f"window_{n}", torch.hann_window(n), persistent=False)

    @torch.autocast("cuda", enabled=False)
    def forward(self, audio_BxN: torch.Tensor) -> torch.Tensor:
        audio_BxN = audio_BxN.float()
        parts = [
            power_db(power_stft(audio_BxN, n, n // 2, getattr(self, f"window_{n}"))).mean(dim=-1)
            for n in self.windows
        ]
        return torch.cat(parts, dim=1)


BASELINES = {
    "mel128": lambda: MelBaseline(),
    "mfcc40": lambda: MelBaseline(n_mfcc=40),
    "mstft": lambda: MultiResolutionSpectrum(),
}
