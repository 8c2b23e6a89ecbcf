"""EfficientAT checkpoints: the official release files, a download cache with SHA-256 checks.

The official files are GitHub release assets of fschmid56/EfficientAT (tag v0.0.1). Their SHA-256
hashes were not available when this was written (no network), so `KNOWN_SHA256` is empty: a download
is accepted on first use, its hash is printed and stored beside the file, and later loads must match
it. Pass `sha256=` (or fill `KNOWN_SHA256`) to pin a hash you trust.
"""

import contextlib
import hashlib
import os
import pathlib
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable

import torch

from data_gen.audio.efficientat_cache import CACHE_ENV, CHECKPOINT_FILES, cache_dir

RELEASE_URL = "https://github.com/fschmid56/EfficientAT/releases/download/v0.0.1/"
# File name -> SHA-256 hex digest, for files whose hash is known from a trusted source.
KNOWN_SHA256: dict[str, str] = {}
_CHUNK = 1 << 20


class CheckpointError(ValueError):
    """A weights file that is not a checkpoint of the model asked for (never enters the cache)."""


# Vets a weights file before it is used or cached: (file, its name for messages) -> None, raising
# CheckpointError.
Check = Callable[[pathlib.Path, str], None]


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar(path: pathlib.Path) -> pathlib.Path:
    return path.with_name(path.name + ".sha256")


def _expected_hash(path: pathlib.Path, sha256: str | None) -> str | None:
    """The hash a file must have: the caller's, else the known one, else the one from download."""
    if sha256:
        return sha256.lower()
    if path.name in KNOWN_SHA256:
        return KNOWN_SHA256[path.name]
    sidecar = _sidecar(path)
    return sidecar.read_text().strip() if sidecar.exists() else None


def verify(path: pathlib.Path, expected: str | None) -> str:
    """Hash `path`; raise if it differs from `expected` (when given). Returns the hex digest."""
    actual = file_sha256(path)
    if expected and actual != expected:
        raise ValueError(
            f"checkpoint {path}: SHA-256 is {actual}, expected {expected}. The file is corrupt or "
            "not the one you meant: delete it and download again, or pass the right sha256."
        )
    return actual


def download(
    url: str,
    dest: pathlib.Path,
    sha256: str | None = None,
    timeout_s: float = 60.0,
    check: Check | None = None,
) -> str:
    """Download `url` (http(s) or file://) to `dest` atomically, checking the hash and `check`
    before the file takes `dest`'s name; returns the hash. A failure leaves nothing behind."""
    made = [p for p in (dest.parent, *dest.parent.parents) if not p.exists()]  # innermost first
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout_s) as response:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        actual = digest.hexdigest()
        if sha256 and actual != sha256.lower():
            raise ValueError(f"download of {url}: SHA-256 is {actual}, expected {sha256.lower()}")
        if check is not None:
            check(pathlib.Path(tmp_name), url)
        os.replace(tmp_name, dest)
    except BaseException:
        pathlib.Path(tmp_name).unlink(missing_ok=True)
        for folder in made:
            with contextlib.suppress(OSError):  # someone else's file arrived in it meanwhile
                folder.rmdir()
        raise
    _sidecar(dest).write_text(actual + "\n")
    return actual


def resolve_checkpoint(
    checkpoint: str,
    weights: str | os.PathLike | None,
    sha256: str | None = None,
    check: Check | None = None,
) -> tuple[pathlib.Path, str]:
    """Find (and if needed download) the weights of `checkpoint` (e.g. "mn04_as").

    Args:
        checkpoint: a key of CHECKPOINT_FILES.
        weights: None (cached file, else download from the official release), a local file path,
            or a URL (http(s):// or file://) to download into the cache (unless the cache already
            holds a file of the official name, which is then checked and used).
        sha256: expected hex digest; overrides KNOWN_SHA256 and the stored download hash.
        check: run on the file before it is returned (a download: before it enters the cache).

    Returns:
        (path of the local file, its SHA-256).
    """
    file_name = CHECKPOINT_FILES[checkpoint]
    if weights is not None and "://" not in str(weights):
        path = pathlib.Path(weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{checkpoint} weights: no file at {path}")
        return path, _verified(path, sha256, check)
    url = str(weights) if weights is not None else RELEASE_URL + file_name
    dest = cache_dir() / file_name
    if dest.is_file():
        return dest, _verified(dest, sha256, check)
    expected = sha256 or KNOWN_SHA256.get(file_name)
    try:
        actual = download(url, dest, expected, check=check)
    except CheckpointError:
        raise  # the file arrived but is not these weights: nothing to retry elsewhere
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise RuntimeError(
            f"could not get the {checkpoint} weights: downloading {url} to {dest} failed ({err}). "
            f"Fetch {RELEASE_URL + file_name} elsewhere and pass weights='/path/to/{file_name}', "
            f"put it in {dest.parent} (or set ${CACHE_ENV}), or, for tests only, weights='random'."
        ) from err
    if expected is None:
        print(
            f"[data_gen.audio] downloaded {file_name}, SHA-256 {actual} (no known hash to check; "
            f"stored in {_sidecar(dest).name} and checked on later loads)",
            file=sys.stderr,
        )
    return dest, actual


def _verified(path: pathlib.Path, sha256: str | None, check: Check | None) -> str:
    digest = verify(path, _expected_hash(path, sha256))
    if check is not None:
        check(path, str(path))
    return digest


def load_state_dict(path: pathlib.Path, source: str | None = None) -> dict[str, torch.Tensor]:
    """Read a flat state_dict; accepts {"state_dict": ...} / {"model": ...} wrappers too.

    `source` names the file in errors (default: `path`)."""
    source = source or str(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch.load's errors on a foreign file are many and undocumented
        # (their text runs to many lines and suggests weights_only=False: the type says enough)
        raise CheckpointError(
            f"checkpoint {source}: not a PyTorch checkpoint ({type(e).__name__})"
        ) from e
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"checkpoint {source}: expected a flat state_dict of tensors")
    return state


def load_into(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Strict load of an EfficientAT state_dict, tolerating only what cannot change the embeddings.

    A checkpoint saved without its classifier (synth-proxy deletes it) loads `features` strictly;
    missing BatchNorm `num_batches_tracked` counters (old PyTorch) are filled with zeros.
    """
    state = dict(state)
    expected = model.state_dict()
    for key, value in expected.items():
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.zeros_like(value)
    if not any(k.startswith("classifier.") for k in state):
        state.update({k: v for k, v in expected.items() if k.startswith("classifier.")})
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = [
        f"{k}: {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong_shape:
        raise CheckpointError(
            f"checkpoint {source} does not fit this model (width {model.width_mult}): missing"
            f"  {missing[:5]} ({len(missing)}), unexpected {unexpected[:5]} "
            f"({len(unexpected)}), wrong shapes {wrong_shape[:5]} ({len(wrong_shape)})"
        )
    model.load_state_dict(state, strict=True)
