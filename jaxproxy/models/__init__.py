"""Preset encoders (Flax NNX) and the preset layout they are built on."""

from jaxproxy.models.layout import PresetLayout
from jaxproxy.models.registry import (
    ENCODERS,
    abstract_encoder,
    build_encoder,
    build_proxy,
    count_params,
    encoder_hyperparameters,
)

__all__ = [
    "ENCODERS",
    "PresetLayout",
    "abstract_encoder",
    "build_encoder",
    "build_proxy",
    "count_params",
    "encoder_hyperparameters",
]
