"""Where the official EfficientAT weights are cached, and the default audio model that follows.

Torch-free on purpose: the training configs (`jaxproxy/configs/proxy.py`) ask it for their
default without importing the audio stack.
"""

from __future__ import annotations

import logging
import os
import pathlib

CHECKPOINT_FILES = {
    "mn04_as": "mn04_as_mAP_432.pt",
    "mn10_as": "mn10_as_mAP_471.pt",
    "mn20_as": "mn20_as_mAP_478.pt",
}
CACHE_ENV = "JAXPROXY_CACHE"
PAPER_AUDIO_MODEL = "mn04"  # the paper's preset-encoder benchmark target
FALLBACK_AUDIO_MODEL = "mel128"  # needs no weights

_log = logging.getLogger(__name__)


def cache_dir() -> pathlib.Path:
    """Download cache: $JAXPROXY_CACHE/efficientat, else ~/.cache/jaxproxy/efficientat."""
    root = os.environ.get(CACHE_ENV) or pathlib.Path.home() / ".cache" / "jaxproxy"
    return pathlib.Path(root) / "efficientat"


def official_weights_cached(checkpoint: str) -> bool:
    """Whether the official file of `checkpoint` (e.g. "mn04_as") is in the cache."""
    return (cache_dir() / CHECKPOINT_FILES[checkpoint]).is_file()


def default_audio_model() -> str:
    """The paper's mn04 when its official weights are cached, else mel128 (said in the log)."""
    if official_weights_cached(f"{PAPER_AUDIO_MODEL}_as"):
        return PAPER_AUDIO_MODEL
    _log.warning(
        "audio model: %s (the paper's %s needs its official weights in %s; "
        "fetch them with `python -m data_gen.audio fetch mn04 --source FILE`)",
        FALLBACK_AUDIO_MODEL,
        PAPER_AUDIO_MODEL,
        cache_dir(),
    )
    return FALLBACK_AUDIO_MODEL
