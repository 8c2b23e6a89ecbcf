"""Log-mels of overlapping, independently padded windows, computing each shared frame only once.

The HEAR-style framing cuts a clip into windows (160 ms every 50 ms) and gives each window its own
log-mel, as if it were a separate clip: pre-emphasis inside the window, then an STFT whose first and
last frames reflect at the window's edges. When the window hop is a multiple of the frame hop, every
other frame of a window is a frame of the whole pre-emphasised clip, shared by the neighbouring
windows. So: STFT the clip once for those interior frames, rebuild the few edge frames of each
window by reflection, and interleave. Same numbers as running `KaldiLogMel` on every window (up to
float32 round-off), with about half the FFT work for 160/50 ms windows.
"""

import math

import torch
from torch import nn

from data_gen.audio.frontend import KaldiLogMel, preemphasis


def num_windows(num_samples: int, hop: int) -> int:
    """Windows of a clip reflect-padded by half a window on each side: floor(N / hop) + 1."""
    return num_samples // hop + 1


def _reflect(index: torch.Tensor, length: int) -> torch.Tensor:
    """Map indices in [-(length - 1), 2 (length - 1)] into [0, length) by reflection (no repeat)."""
    index = torch.where(index < 0, -index, index)
    return torch.where(index >= length, 2 * (length - 1) - index, index)


def window_log_mels(
    front: KaldiLogMel, audio_BxN: torch.Tensor, window: int, hop: int
) -> torch.Tensor:
    """Log-mel of every window of every clip: float[B, N] -> float32[B, W, n_mels, T].

    Window w is audio_padded[w * hop : w * hop + window], where audio_padded is the clip
    reflect-padded by window // 2 on both sides; W = floor(N / hop) + 1.
    """
    n_fft, frame_hop = front.n_fft, front.hop
    if hop % frame_hop or window % 2:
        raise ValueError(
            f"window_log_mels: need an even window and a hop that is a multiple of the frame hop "
            f"{frame_hop}; got window={window}, hop={hop}"
        )
    if audio_BxN.shape[-1] <= window // 2:
        raise ValueError(
            f"window_log_mels: clips of {audio_BxN.shape[-1]} samples are too short; reflect "
            f"padding by half a window needs at least {window // 2 + 1}"
        )
    batch, num_w, ratio = (
        audio_BxN.shape[0],
        num_windows(audio_BxN.shape[-1], hop),
        hop // frame_hop,
    )
    win_len = window - 1  # a window's length after pre-emphasis
    num_t = 1 + win_len // frame_hop
    # Frame t of a window spans [t * frame_hop - n_fft / 2, + n_fft) of the pre-emphasised window:
    # inside it for t_lo <= t <= t_hi, otherwise it reflects at an edge.
    t_lo = math.ceil(n_fft / 2 / frame_hop)
    t_hi = min((win_len - n_fft // 2) // frame_hop, num_t - 1)
    if t_hi < t_lo:
        raise ValueError(f"window_log_mels: window {window} has no frame away from its edges")
    with torch.autocast(audio_BxN.device.type, enabled=False):
        padded_BxP = nn.functional.pad(
            audio_BxN.float()[:, None], (window // 2, window // 2), mode="reflect"
        )[:, 0]
        emph_BxP = preemphasis(padded_BxP)
        # Interior frames: clip frame j = ratio * w + t starts at j * frame_hop - n_fft / 2.
        first = t_lo * frame_hop - n_fft // 2
        num_j = ratio * (num_w - 1) + t_hi - t_lo + 1
        frames_BxJxF = emph_BxP[:, first:].unfold(-1, n_fft, frame_hop)[:, :num_j]
        interior_BxJxM = front.frames_to_mel(frames_BxJxF)
        pick_WxTi = (
            ratio * torch.arange(num_w, device=audio_BxN.device)[:, None]
            + torch.arange(t_hi - t_lo + 1, device=audio_BxN.device)[None, :]
        )
        parts = [interior_BxJxM[:, pick_WxTi]]  # [B, W, Ti, M]
        # Edge frames: gather each window's samples with the reflections torch.stft would use.
        edge_t = [t for t in range(num_t) if t < t_lo or t > t_hi]
        if edge_t:
            starts_E = torch.tensor(edge_t, device=audio_BxN.device) * frame_hop - n_fft // 2
            offsets_ExF = starts_E[:, None] + torch.arange(n_fft, device=audio_BxN.device)[None]
            windows_BxWxL = emph_BxP.unfold(-1, win_len, hop)[:, :num_w]
            edges_BxWxExF = windows_BxWxL[:, :, _reflect(offsets_ExF, win_len)]
            edges_BxWxExM = front.frames_to_mel(edges_BxWxExF)
            num_left = sum(t < t_lo for t in edge_t)
            parts = [edges_BxWxExM[:, :, :num_left], parts[0], edges_BxWxExM[:, :, num_left:]]
        mel_BxWxTxM = torch.cat(parts, dim=2)
        assert mel_BxWxTxM.shape[:3] == (batch, num_w, num_t)
        return front.log(mel_BxWxTxM).transpose(-1, -2)
