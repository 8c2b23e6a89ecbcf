"""`convert checkpoint`: a reference checkpoint of an encoder (`jaxproxy.convert.encoder`) or of
the sound-matching module (`jaxproxy.convert.estimator`), told apart by its state-dict keys."""

from __future__ import annotations

from typing import Any

from jaxproxy.convert import estimator_map, torch_files
from jaxproxy.convert.encoder import write_encoder_workdir
from jaxproxy.convert.estimator import convert_estimator


def convert_checkpoint(
    ckpt: str,
    out_dir: str,
    *,
    synth: str | None = None,
    audio_model: str | None = None,
    num_heads: int = 8,
    unsafe_pickle: bool = False,
    mel_stats: str | None = None,
) -> dict[str, Any]:
    """Writes `out_dir` for `ckpt` (a sound-matching checkpoint needs `mel_stats`); returns the
    conversion facts, with a one-line `summary`."""
    obj = torch_files.torch_load(ckpt, unsafe_pickle)
    state = torch_files.lightning_state(obj, ckpt)
    if estimator_map.is_estimator_state(state):
        return convert_estimator(obj, ckpt, out_dir, synth=synth, audio_model=audio_model,
                                 num_heads=num_heads, mel_stats=mel_stats,
                                 unsafe_pickle=unsafe_pickle)  # fmt: skip
    if mel_stats:
        raise ValueError(f"--mel-stats: {ckpt} holds an encoder, not a sound-matching estimator")
    sd, prefix = torch_files.encoder_state_dict(obj, ckpt)
    return write_encoder_workdir(
        sd, out_dir, source=ckpt, prefix=prefix, synth=synth, audio_model=audio_model,
        num_heads=num_heads,
    )  # fmt: skip
