"""Audio embedding models (EfficientAT port and the paper's baselines), in PyTorch."""

from data_gen.audio.base import AudioModel
from data_gen.audio.registry import get_audio_model, list_audio_models

__all__ = ["AudioModel", "get_audio_model", "list_audio_models"]
