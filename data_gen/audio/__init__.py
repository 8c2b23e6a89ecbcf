"""Audio embedding models (EfficientAT port and the paper's baselines), in PyTorch.

The package names are loaded on first use, so numpy-only modules such as
`data_gen.audio.filterbank` import without torch (the JAX side's audio metrics use them).
"""

from typing import Any

__all__ = ["AudioModel", "get_audio_model", "list_audio_models", "runs_offline"]


def __getattr__(name: str) -> Any:
    if name == "AudioModel":
        from data_gen.audio.base import AudioModel

        return AudioModel
    if name in ("get_audio_model", "list_audio_models", "runs_offline"):
        from data_gen.audio import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'data_gen.audio' has no attribute {name!r}")
