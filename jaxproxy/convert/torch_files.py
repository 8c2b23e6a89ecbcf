"""Reading the reference's torch pickles (checkpoints, datasets) into numpy, importing torch lazily.

Only the converters use this module; the training path never imports torch.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

# Top-level module names of the reference's encoders (MlpBuilder, TfmBuilder): a Lightning
# module stores them under one more prefix (`preset_encoder.`, `synth_proxy.`), which is stripped.
ENCODER_ROOTS = ("embedding_layer", "blocks", "head", "tokenizer", "encoder")


def torch_load(path: str | os.PathLike, unsafe_pickle: bool = False) -> Any:
    """`torch.load` on the CPU; arbitrary pickled objects only with `unsafe_pickle`."""
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=not unsafe_pickle, mmap=False)
    except FileNotFoundError:
        raise
    except (pickle.UnpicklingError, RuntimeError, AttributeError) as err:
        hint = "" if unsafe_pickle else " (if you trust the file, retry with --unsafe-pickle)"
        raise ValueError(f"{path}: cannot be read as a torch file: {err}{hint}") from None


def to_numpy(value: Any, where: str) -> np.ndarray:
    import torch

    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{where}: expected a tensor, got {type(value).__name__}")
    return value.detach().cpu().numpy()


def encoder_state_dict(obj: Any, source: str) -> tuple[dict[str, np.ndarray], str]:
    """(state dict as numpy arrays, the prefix stripped) from a Lightning checkpoint or a bare
    state dict. The prefix is the Lightning module's attribute (e.g. `preset_encoder.`); keys are
    then those of the encoder itself, as the reference's own loading does (facts 9.6)."""
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not state:
        raise ValueError(f"{source}: neither a Lightning checkpoint nor a state dict")
    keys = list(state)
    firsts = {k.split(".", 1)[0] for k in keys}
    prefix = ""
    if len(firsts) == 1 and not firsts & set(ENCODER_ROOTS) and all("." in k for k in keys):
        prefix = firsts.pop() + "."
    arrays = {k[len(prefix) :]: to_numpy(v, f"{source}: key {k!r}") for k, v in state.items()}
    return arrays, prefix
