"""`AudioModel`: a frozen torch embedding module behind a batched numpy `embed()`."""

import contextlib

import numpy as np
import torch
from torch import nn

from data_gen.audio.resample import resample

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


def resolve_device(device: str | torch.device | None) -> torch.device:
    """None picks the GPU when one is present, else the CPU; a device this machine lacks is a
    ValueError now, not a torch error at the first batch."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device {device!r} is not a torch device (cpu, cuda, cuda:1, mps)") from e
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device {device!r}: torch sees {torch.cuda.device_count()} CUDA devices")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r}: MPS is not available here")
    return resolved


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """Compute dtype; float16/bfloat16 run the network under autocast and need a GPU."""
    if dtype is None:
        return torch.float32
    resolved = _DTYPES.get(dtype) if isinstance(dtype, str) else dtype
    if resolved not in (torch.float32, torch.float16, torch.bfloat16):
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
    if resolved != torch.float32 and device.type != "cuda":
        raise ValueError(f"dtype {dtype!r} needs a CUDA device (got {device}); use float32 on CPU")
    return resolved


class AudioModel:
    """An embedding model: float32 audio [B, N] at `sample_rate` -> float32 embeddings [B, E].

    Attributes:
        name: registry name.
        sample_rate: the rate the model expects, in Hz.
        embedding_dim: E.
        version: changes whenever the preprocessing or the weights change (datasets record it).
        min_samples: the shortest input accepted, in samples at `sample_rate`.
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        name: str,
        sample_rate: int,
        embedding_dim: int,
        version: str,
        min_samples: int,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        batch_size: int = 64,
    ):
        self.name, self.sample_rate, self.embedding_dim = name, sample_rate, embedding_dim
        self.version, self.min_samples, self.batch_size = version, min_samples, batch_size
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.module = module.to(self.device).eval()
        for param in self.module.parameters():
            param.requires_grad_(False)

    def __repr__(self) -> str:
        return (
            f"AudioModel({self.name!r}, sample_rate={self.sample_rate}, "
            f"embedding_dim={self.embedding_dim}, version={self.version!r}, device={self.device})"
        )

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def embed(self, audio_BxN: np.ndarray, sample_rate: int | None = None) -> np.ndarray:
        """Embed a batch of mono clips.

        Args:
            audio_BxN: float array [B, N] in [-1, 1].
            sample_rate: the rate of `audio_BxN` if it is not `self.sample_rate`; the audio is then
                resampled to the model rate first.

        Returns:
            float32[B, embedding_dim].
        """
        audio_BxN = np.asarray(audio_BxN)
        if audio_BxN.ndim != 2 or not np.issubdtype(audio_BxN.dtype, np.floating):
            raise ValueError(
                f"{self.name}.embed: audio must be a float array [batch, samples], "
                f"got {audio_BxN.dtype} {audio_BxN.shape}"
            )
        if not np.isfinite(audio_BxN).all():
            raise ValueError(f"{self.name}.embed: audio contains NaN or inf")
        rate = sample_rate or self.sample_rate
        num_samples = -(-audio_BxN.shape[1] * self.sample_rate // rate)
        if num_samples < self.min_samples:
            raise ValueError(
                f"{self.name}.embed: clips of {audio_BxN.shape[1]} samples at {rate} Hz are too "
                f"short; need at least {self.min_samples} samples at {self.sample_rate} Hz "
                f"({1000 * self.min_samples / self.sample_rate:.1f} ms)"
            )
        out = np.empty((audio_BxN.shape[0], self.embedding_dim), np.float32)
        with torch.inference_mode(), self._autocast():
            for start in range(0, audio_BxN.shape[0], self.batch_size):
                chunk = audio_BxN[start : start + self.batch_size].astype(np.float32, copy=False)
                chunk_BxN = torch.from_numpy(chunk).to(self.device)
                chunk_BxN = resample(chunk_BxN, rate, self.sample_rate)
                emb_BxE = self.module(chunk_BxN)
                out[start : start + len(chunk)] = emb_BxE.float().cpu().numpy()
        if not np.isfinite(out).all():
            raise FloatingPointError(f"{self.name}.embed produced NaN/inf ({self.version})")
        return out
