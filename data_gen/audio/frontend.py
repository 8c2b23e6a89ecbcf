"""Spectrogram front ends in torch: pre-emphasis, power STFT and the kaldi-mel log spectrograms.

`efficientat_mel()` is EfficientAT's `AugmentMelSTFT` in eval mode (the input of the mn models);
`ssm_mel()` is synth-proxy's `MelSTFT` for the sound-matching estimator (dB log-mel, 128 x 313 for
5 s at 32 kHz). Both always compute in float32, also under autocast.
"""

import torch
from torch import nn

from data_gen.audio.filterbank import kaldi_mel_banks


def preemphasis(audio_BxN: torch.Tensor, coef: float = 0.97) -> torch.Tensor:
    """y[n] = x[n + 1] - coef * x[n]; like a 2-tap valid convolution, it has N - 1 samples."""
    return audio_BxN[:, 1:] - coef * audio_BxN[:, :-1]


def power_stft(
    audio_BxN: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor, normalized: bool = False
) -> torch.Tensor:
    """|STFT|^2 with centred frames (reflect padding), one-sided: float32[B, n_fft // 2 + 1, T].

    `window` may be shorter than `n_fft` (it is zero-padded on both sides, as torch.stft does);
    `normalized` divides the power by sum(window^2) (torchaudio's normalized="window").
    """
    min_len = n_fft // 2 + 1
    if audio_BxN.shape[-1] < min_len:
        raise ValueError(
            f"power_stft: audio of {audio_BxN.shape[-1]} samples is too short for n_fft={n_fft} "
            f"(centred reflect padding needs at least {min_len})"
        )
    spec_BxFxT = torch.stft(
        audio_BxN,
        n_fft,
        hop_length=hop,
        win_length=window.numel(),
        window=window,
        center=True,
        pad_mode="reflect",
        normalized=False,
        return_complex=True,
    )
    power_BxFxT = spec_BxFxT.real.square() + spec_BxFxT.imag.square()
    if normalized:
        power_BxFxT = power_BxFxT / window.square().sum()
    return power_BxFxT


class KaldiLogMel(nn.Module):
    """Pre-emphasis, power STFT with a symmetric Hann window, kaldi mel triangles and a log.

    `log_kind="efficientat"`: (ln(mel + 1e-5) + 4.5) / 5 (EfficientAT's "fast normalisation");
    `log_kind="db"`: 10 log10(max(mel, 1e-8)) (synth-proxy's MelSTFT). Nothing is in the
    state_dict: the window and the filterbank are fixed buffers.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        n_fft: int,
        win_length: int,
        hop: int,
        n_mels: int,
        fmin: float,
        fmax: float,
        log_kind: str,
    ):
        super().__init__()
        if log_kind not in ("efficientat", "db"):
            raise ValueError(
                f"KaldiLogMel: log_kind must be 'efficientat' or 'db', got {log_kind!r}"
            )
        self.n_fft, self.hop, self.log_kind = n_fft, hop, log_kind
        window = torch.hann_window(win_length, periodic=False, dtype=torch.float32)
        banks = kaldi_mel_banks(n_mels, n_fft, sample_rate, fmin, fmax)
        self.register_buffer("window", window, persistent=False)
        self.register_buffer("mel_basis", torch.from_numpy(banks), persistent=False)
        # The window centred in n_fft zeros, as torch.stft applies it, for `frames_to_mel`.
        side = (n_fft - win_length) // 2
        padded_window = nn.functional.pad(window, (side, n_fft - win_length - side))
        self.register_buffer("window_nfft", padded_window, persistent=False)

    def num_frames(self, num_samples: int) -> int:
        """Frames produced for `num_samples` input samples (pre-emphasis drops one)."""
        return 1 + (num_samples - 1) // self.hop

    def log(self, mel: torch.Tensor) -> torch.Tensor:
        """The log compression of this front end, applied to mel energies."""
        if self.log_kind == "efficientat":
            return (torch.log(mel + 1e-5) + 4.5) / 5.0
        return 10.0 * torch.log10(mel.clamp_min(1e-8))

    def frames_to_mel(self, frames_xF: torch.Tensor) -> torch.Tensor:
        """Mel energies (no log) of already cut, pre-emphasised frames: [..., n_fft] -> [..., M]."""
        spec_xK = torch.fft.rfft(frames_xF * self.window_nfft)
        power_xK = spec_xK.real.square() + spec_xK.imag.square()
        return torch.matmul(power_xK, self.mel_basis.T)

    def forward(self, audio_BxN: torch.Tensor) -> torch.Tensor:
        """float[B, N] -> float32[B, n_mels, T]."""
        with torch.autocast(audio_BxN.device.type, enabled=False):
            audio_BxN = preemphasis(audio_BxN.float())
            power_BxFxT = power_stft(audio_BxN, self.n_fft, self.hop, self.window)
            return self.log(torch.matmul(self.mel_basis, power_BxFxT))


def efficientat_mel() -> KaldiLogMel:
    """EfficientAT eval front end: 32 kHz, 25 ms Hann in 1024 FFT, 10 ms hop, 128 mels 0-15 kHz."""
    return KaldiLogMel(
        sample_rate=32000,
        n_fft=1024,
        win_length=800,
        hop=320,
        n_mels=128,
        fmin=0.0,
        fmax=15000.0,
        log_kind="efficientat",
    )


def ssm_mel() -> KaldiLogMel:
    """synth-proxy's MelSTFT for sound matching: 32 kHz, 1024 FFT/window, hop 512, 0-16 kHz, dB."""
    return KaldiLogMel(
        sample_rate=32000,
        n_fft=1024,
        win_length=1024,
        hop=512,
        n_mels=128,
        fmin=0.0,
        fmax=16000.0,
        log_kind="db",
    )
