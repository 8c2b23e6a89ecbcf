"""EfficientAT embeddings as the paper uses them: block features of 160 ms windows, time-averaged.

Following synth-proxy's HEAR wrapper: the clip is reflect-padded by half a window, cut into 160 ms
windows at a 50 ms hop (floor(N / 1600) + 1 windows), and each window goes through the log-mel
front end and the network on its own (`windowed_mel` computes the STFT frames that windows share
only once). A window's embedding is [time-mean of its log-mel (128), only for the `_mel`
variants] + the (freq, time) means of the outputs of blocks 5, 11, 13 and 15; the clip's
embedding ("avg_time") is the mean over its windows.
"""

import dataclasses
import pathlib

import torch
from torch import nn

from data_gen.audio import weights as weights_lib
from data_gen.audio.frontend import efficientat_mel
from data_gen.audio.mobilenet import MobileNetV3, init_random
from data_gen.audio.windowed_mel import window_log_mels

SAMPLE_RATE = 32000
WINDOW = 5120  # 160 ms
HOP = 1600  # 50 ms
BLOCK_IDS = (5, 11, 13, 15)
N_MELS = 128
# Bump when the framing, front end or pooling changes: it is part of every model's `version`.
PIPELINE_VERSION = "hear160/50ms-kaldimel128-allb-v1"


@dataclasses.dataclass(frozen=True)
class EfficientAtVariant:
    """A registry entry: which network, and whether the mel averages lead the embedding."""

    checkpoint: str
    width_mult: float
    with_mel: bool


VARIANTS = {
    "mn04": EfficientAtVariant("mn04_as", 0.4, False),
    "mn04_mel": EfficientAtVariant("mn04_as", 0.4, True),
    "mn10": EfficientAtVariant("mn10_as", 1.0, False),
    "mn10_mel": EfficientAtVariant("mn10_as", 1.0, True),
    "mn20": EfficientAtVariant("mn20_as", 2.0, False),
    "mn20_mel": EfficientAtVariant("mn20_as", 2.0, True),
}


class WindowedBlockEmbedding(nn.Module):
    """Clip audio [B, N] at 32 kHz -> time-averaged window embeddings [B, E]."""

    def __init__(self, width_mult: float, with_mel: bool, window_chunk: int = 256):
        super().__init__()
        self.with_mel, self.window_chunk = with_mel, window_chunk
        self.mel = efficientat_mel()
        # Channels-last runs the convolutions 2-3x faster on CPU (oneDNN) and suits GPUs too.
        self.net = MobileNetV3(width_mult).to(memory_format=torch.channels_last)
        block_dims = sum(self.net.channels[i] for i in BLOCK_IDS)
        self.embedding_dim = block_dims + (N_MELS if with_mel else 0)
        self.clips_per_forward = 16  # 1616 windows of 5 s clips; windows run in chunks anyway

    def window_embeddings(self, mel_WxMxT: torch.Tensor) -> torch.Tensor:
        """Embeddings of independent windows from their log-mels: [W, M, T] -> float32[W, E]."""
        mel_Wx1xMxT = mel_WxMxT[:, None].contiguous(memory_format=torch.channels_last)
        maps = self.net.block_outputs(mel_Wx1xMxT, BLOCK_IDS)
        parts = [mel_WxMxT.mean(dim=-1)] if self.with_mel else []
        parts += [fmap_WxCxFxT.float().mean(dim=(2, 3)) for fmap_WxCxFxT in maps]
        return torch.cat(parts, dim=1)

    def forward(self, audio_BxN: torch.Tensor) -> torch.Tensor:
        mel_BxWxMxT = window_log_mels(self.mel, audio_BxN, WINDOW, HOP)
        batch, num_windows = mel_BxWxMxT.shape[:2]
        mel_WxMxT = mel_BxWxMxT.flatten(0, 1)
        emb_WxE = torch.cat([self.window_embeddings(c) for c in mel_WxMxT.split(self.window_chunk)])
        return emb_WxE.reshape(batch, num_windows, -1).mean(dim=1)


def build(
    name: str, weights: str | None, sha256: str | None = None
) -> tuple[WindowedBlockEmbedding, str]:
    """The embedding module of `name` with its weights, and the weights' tag for `version`.

    Args:
        name: a key of VARIANTS.
        weights: None (cache, else download the official file), a path, a URL, or "random" /
            "random:<seed>" for a seeded random initialisation (tests and smoke runs only).
        sha256: expected hash of the weights file.
    """
    variant = VARIANTS[name]
    module = WindowedBlockEmbedding(variant.width_mult, variant.with_mel)
    if isinstance(weights, str) and (weights == "random" or weights.startswith("random:")):
        _, _, seed_text = weights.partition(":")
        if seed_text and not seed_text.isdigit():
            raise ValueError(
                f"{name}: weights='random:<seed>' needs an integer seed, got {weights!r}"
            )
        seed = int(seed_text or 0)
        init_random(module.net, seed)
        return module, f"random-seed{seed}"

    def load(path: pathlib.Path, source: str) -> None:  # also vets a download before caching it
        weights_lib.load_into(module.net, weights_lib.load_state_dict(path, source), source)

    _, digest = weights_lib.resolve_checkpoint(variant.checkpoint, weights, sha256, check=load)
    return module, f"{variant.checkpoint}-sha256:{digest[:16]}"
