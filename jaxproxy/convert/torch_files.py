"""Reading the reference's torch pickles (checkpoints, datasets) into numpy, importing torch lazily.

Only the converters use this module; the training path never imports torch. The reference writes
its `configs.pkl` with `torch.save` from Hydra configs, so it holds omegaconf containers (a
`ListConfig` of exclusion patterns, a `DictConfig` of mel settings): they are read without
omegaconf, as stand-in classes that only receive their pickled attributes, and then turned into
plain lists and dicts. A weights-only load accepts them, so `--unsafe-pickle` is not needed.
"""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

# Top-level module names of the reference's encoders (MlpBuilder, TfmBuilder): a Lightning
# module stores them under one more prefix (`preset_encoder.`, `synth_proxy.`), which is stripped.
ENCODER_ROOTS = ("embedding_layer", "blocks", "head", "tokenizer", "encoder")

# The omegaconf classes a pickled Hydra config holds (omegaconf 2.1-2.4 share these names).
_OMEGACONF_NAMES = {
    "omegaconf.listconfig": ("ListConfig",),
    "omegaconf.dictconfig": ("DictConfig",),
    "omegaconf.base": ("Metadata", "ContainerMetadata"),
    "omegaconf.nodes": (
        "AnyNode", "StringNode", "PathNode", "IntegerNode", "FloatNode", "BooleanNode",
        "BytesNode", "InterpolationResultNode",
    ),
}  # fmt: skip
# Modules whose globals a weights-only load accepts here (the rest name the refused classes).
_ACCEPTED_MODULES = ("torch", "builtins", "__builtin__", "collections", "typing", "_codecs")
_ACCEPTED_MODULES += tuple(_OMEGACONF_NAMES)
TORCH_FILE = "a torch.save file (a zip archive or a pickle)"


class OmegaConfObject:
    """An omegaconf object as pickled: its attributes, set by unpickling; no omegaconf code runs.
    Containers keep their children in `_content`, value nodes their value in `_val`."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _stand_ins() -> dict[tuple[str, str], type]:
    return {
        (module, name): type(name, (OmegaConfObject,), {"__module__": module, "__qualname__": name})
        for module, names in _OMEGACONF_NAMES.items()
        for name in names
    }


_STAND_INS = _stand_ins()


def plain(value: Any) -> Any:
    """`value` with omegaconf containers and nodes replaced by lists, dicts and their values.
    An unresolved interpolation (`${...}`) or a missing value (`???`) stays the string it is."""
    if isinstance(value, OmegaConfObject):
        state = value.__dict__
        if "_content" in state:
            return plain(state["_content"])
        return plain(state.get("_val"))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    return value


class _StandInUnpickler(pickle.Unpickler):
    """The ordinary (unsafe) unpickler, but omegaconf's classes are the stand-ins."""

    def find_class(self, module: str, name: str) -> Any:
        return _STAND_INS.get((module, name)) or super().find_class(module, name)


class _StandInPickle:
    """What `torch.load(pickle_module=...)` needs of a pickle module."""

    Unpickler = _StandInUnpickler
    UnpicklingError = pickle.UnpicklingError

    @staticmethod
    def load(file: Any, **kwargs: Any) -> Any:
        return _StandInUnpickler(file, **kwargs).load()


def _check_looks_like_torch(path: Path) -> None:
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, expected {TORCH_FILE}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (expected {TORCH_FILE})")
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise ValueError(f"{path}: is empty, expected {TORCH_FILE}")
    # torch.save writes a zip archive (since torch 1.6) or, in the legacy format, a pickle.
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):
        raise ValueError(f"{path}: starts with {head!r}, so it is not {TORCH_FILE}")


def _pickle_ops(path: Path) -> list[Any]:
    """The opcodes of the file's pickles: `data.pkl` of a zip archive, or the first four pickles
    of the legacy format (magic number, protocol, system info, the object). Raises on damage."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("/data.pkl")]
            stream = io.BytesIO(archive.read(names[0])) if names else None
        if stream is None:
            raise FileNotFoundError("a zip archive without the data.pkl torch.save writes")
        count = 1
    else:
        stream, count = io.BytesIO(path.read_bytes()), 4
    return [op for _ in range(count) for op in pickletools.genops(stream)]


def _diagnosis(path: Path, unsafe_pickle: bool) -> str | None:
    """Why torch could not read `path`, from its own pickle opcodes (None: no better answer)."""
    try:
        ops = _pickle_ops(path)
    except FileNotFoundError as err:
        return f"is {err}"
    except (ValueError, EOFError, zipfile.BadZipFile, OSError) as err:
        return f"its pickle is damaged or truncated ({_first_line(err)}), expected {TORCH_FILE}"
    if unsafe_pickle:
        return None
    found = {arg.replace(" ", ".") for op, arg, _ in ops if op.name == "GLOBAL"}
    refused = sorted(g for g in found if not g.startswith(_ACCEPTED_MODULES))
    what = f"Python objects ({', '.join(refused)})" if refused else "content"
    return f"a weights-only load refuses its {what}; if you trust it, retry with --unsafe-pickle"


def torch_load(path: str | os.PathLike, unsafe_pickle: bool = False) -> Any:
    """`torch.load` on the CPU, omegaconf objects as plain lists and dicts; arbitrary pickled
    objects only with `unsafe_pickle`. A file torch cannot read is one ValueError line."""
    import torch

    path = Path(path)
    _check_looks_like_torch(path)
    try:
        if unsafe_pickle:
            obj = torch.load(path, map_location="cpu", weights_only=False, mmap=False,
                             pickle_module=_StandInPickle)  # fmt: skip
        else:
            import collections
            import typing

            allowed = [*_STAND_INS.values(), typing.Any, collections.defaultdict]
            allowed += [list, dict, tuple, int, float, str, bool, bytes]  # as type references
            with torch.serialization.safe_globals(allowed):
                obj = torch.load(path, map_location="cpu", weights_only=True, mmap=False)
    except ModuleNotFoundError as err:
        raise ValueError(
            f"{path}: holds objects of module {err.name!r}, which is not installed: expected "
            f"tensors, numbers, strings, lists and dicts"
        ) from None
    except (pickle.UnpicklingError, RuntimeError, AttributeError, EOFError, KeyError, IndexError,
            TypeError, ValueError, OverflowError) as err:  # fmt: skip
        # A damaged or foreign file trips the unpickler anywhere (stack, memo, zip reader).
        diagnosis = _diagnosis(path, unsafe_pickle)
        if diagnosis is None:
            diagnosis = f"cannot be read as {TORCH_FILE}: {_first_line(err)}"
        raise ValueError(f"{path}: {diagnosis}") from None
    return plain(obj)


def _first_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def to_numpy(value: Any, where: str) -> np.ndarray:
    import torch

    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{where}: expected a tensor, got {type(value).__name__}")
    return value.detach().cpu().numpy()


def lightning_state(obj: Any, source: str) -> dict[str, Any]:
    """The `state_dict` of a Lightning checkpoint, or `obj` itself if it is a state dict."""
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not state:
        raise ValueError(
            f"{source}: expected a Lightning checkpoint (a dict with a 'state_dict') or a state "
            f"dict, got {type(obj).__name__}{' (empty)' if isinstance(obj, dict) else ''}"
        )
    return state


def encoder_state_dict(obj: Any, source: str) -> tuple[dict[str, np.ndarray], str]:
    """(state dict as numpy arrays, the prefix stripped) from a Lightning checkpoint or a bare
    state dict. The prefix is the Lightning module's attribute (e.g. `preset_encoder.`); keys are
    then those of the encoder itself, as the reference's own loading does (facts 9.6)."""
    state = lightning_state(obj, source)
    keys = [str(k) for k in state]
    firsts = {k.split(".", 1)[0] for k in keys}
    prefix = ""
    if len(firsts) == 1 and not firsts & set(ENCODER_ROOTS) and all("." in k for k in keys):
        prefix = firsts.pop() + "."
    arrays = {str(k)[len(prefix) :]: to_numpy(v, f"{source}: key {k!r}") for k, v in state.items()}
    return arrays, prefix
