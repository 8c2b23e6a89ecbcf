"""Which file format each synth's presets come in and go out as: one entry point for the CLI."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from data_gen.presets import (
    amsynth_bank,
    diva_h2p,
    dx7_presets,
    dx7_sysex,
    plugin_presets,
    talnm_preset,
)
from data_gen.presets.errors import PresetFileError, PresetWarning
from data_gen.presets.presets_json import ImportedPreset, save_presets, write_bytes_atomic
from data_gen.synths.registry import get_spec
from data_gen.synths.spec import SynthSpec
from data_gen.synths.spec_file import is_spec_file

READABLE = {
    "dx7": ".syx (cartridges, single voices) or raw packed .dx7",
    "dexed": ".syx (cartridges, single voices) or raw packed .dx7",
    "amsynth": "amsynth .bank",
    "talnm": "TAL-NoiseMaker .noisemakerpreset",
    "diva": "Diva .h2p (with a key map)",
}
READABLE["spec file (.json)"] = plugin_presets.SUFFIXES
WRITABLE = {"dx7": ".syx", "dexed": ".syx", "amsynth": ".bank"}


def _base(synth: str) -> str:
    return synth.partition("@")[0]


def import_file(
    synth: str,
    path: str | Path,
    lenient: bool = False,
    diva_key_map: str | Path | None = None,
    strict: bool = False,
) -> list[ImportedPreset]:
    """The presets of one file, as `synth`'s raw [0, 1] parameter values.

    DX7/Dexed bytes beyond a field's range are read as Dexed reads them, clipped to the range
    (warned), unless `strict`.
    """
    base = _base(synth)
    if base in dx7_presets.DX7_SYNTHS:
        voices = dx7_sysex.read_dx7_file(path, lenient, strict)
        return dx7_presets.voices_to_presets(voices, str(path), base)
    if base == "amsynth":
        return amsynth_bank.read_amsynth_bank(path, lenient)
    if base == "talnm":
        return talnm_preset.read_noisemaker_preset(path, get_spec(synth), lenient)
    if base == "diva":
        if diva_key_map is None:
            raise ValueError(
                "Diva .h2p values are in Diva's own units: pass a key map "
                "(JSON {'MODULE:Key': [spec_name, native_min, native_max]})"
            )
        return diva_h2p.read_h2p(path, diva_h2p.load_key_map(diva_key_map), lenient)
    raise ValueError(f"no preset reader for synth {synth!r}; readers exist for {sorted(READABLE)}")


def import_files(
    synth: str,
    paths: Sequence[str | Path],
    lenient: bool = False,
    diva_key_map: str | Path | None = None,
    strict: bool = False,
) -> list[ImportedPreset]:
    """All presets of many files, in order; with `lenient`, an unreadable file is skipped.

    A spec file's synth (`jaxproxy-data synth describe`) has its files read by the plug-in.
    """
    if is_spec_file(synth):
        return plugin_presets.read_plugin_presets(get_spec(synth), paths, lenient=lenient)
    out: list[ImportedPreset] = []
    for path in paths:
        try:
            out += import_file(synth, path, lenient, diva_key_map, strict)
        except PresetFileError as err:
            if not lenient:
                raise
            warnings.warn(f"{err} (file skipped)", PresetWarning, stacklevel=2)
    return out


def vectors_to_presets(
    spec: SynthSpec, vectors: np.ndarray, names: Sequence[str] | None = None
) -> list[ImportedPreset]:
    """Preset vectors (e.g. an estimator's predictions) -> named raw values of used params."""
    raw = spec.to_render_values(np.atleast_2d(vectors))
    names = list(names) if names is not None else [f"preset {k + 1}" for k in range(len(raw))]
    if len(names) != len(raw):
        raise ValueError(f"{len(raw)} preset vectors but {len(names)} names")
    used = spec.used_params
    return [
        ImportedPreset(n, "vector", {p.name: float(v) for p, v in zip(used, row, strict=True)})
        for n, row in zip(names, raw, strict=True)
    ]


def encode_presets(
    synth: str, presets: Sequence[ImportedPreset], single: bool = False, channel: int = 0
) -> bytes:
    """Presets -> the bytes of a file the synth loads. Parameters a preset lacks are held at the
    spec's defaults (for DX7 voices: the excluded fields' held values, INIT VOICE otherwise)."""
    base = _base(synth)
    if not presets:
        raise ValueError("no preset to write")
    if base in dx7_presets.DX7_SYNTHS:
        template = dx7_presets.spec_template(get_spec(synth))
        voices = [
            dx7_presets.parameters_to_voice(p.parameters, p.name, base, template) for p in presets
        ]
        if single:
            return b"".join(dx7_sysex.encode_single_voice(v, channel) for v in voices)
        if len(voices) > dx7_sysex.VOICES_PER_CARTRIDGE:
            raise ValueError(
                f"{len(voices)} voices do not fit one 32-voice cartridge: write single voices "
                "or split the presets"
            )
        return dx7_sysex.encode_cartridge(voices, channel)
    if base == "amsynth":
        bank = [amsynth_bank.from_parameters(p.parameters, p.name) for p in presets]
        return amsynth_bank.format_amsynth_bank(bank).encode()
    raise ValueError(f"no preset writer for synth {synth!r}; writers exist for {sorted(WRITABLE)}")


def export_presets(
    synth: str,
    presets: Sequence[ImportedPreset],
    path: str | Path,
    single: bool = False,
    channel: int = 0,
    split: bool = False,
) -> list[Path]:
    """Write presets to `path` atomically (nothing is left behind when encoding fails).

    With `split`, DX7 presets beyond one cartridge go to `stem_001.syx`, `stem_002.syx`, ...
    (32 voices each). Returns the files written.
    """
    path = Path(path)
    size = dx7_sysex.VOICES_PER_CARTRIDGE
    if not (split and _base(synth) in dx7_presets.DX7_SYNTHS and len(presets) > size):
        write_bytes_atomic(path, encode_presets(synth, presets, single, channel))
        return [path]
    chunks = [presets[k : k + size] for k in range(0, len(presets), size)]
    blobs = [encode_presets(synth, chunk, single, channel) for chunk in chunks]  # all or none
    paths = [path.with_name(f"{path.stem}_{k:03d}{path.suffix}") for k in range(1, len(blobs) + 1)]
    for out, blob in zip(paths, blobs, strict=True):
        write_bytes_atomic(out, blob)
    return paths


def preset_suffix(synth: str) -> str:
    """The file a synth loads one preset from: .syx (DX7/Dexed single voice), .bank (amsynth),
    else our presets JSON (`data_gen.presets export` turns it into other formats)."""
    base = _base(synth)
    if base in dx7_presets.DX7_SYNTHS:
        return ".syx"
    return ".bank" if base == "amsynth" else ".json"


def write_preset(spec: SynthSpec, vector_P: np.ndarray, path: str | Path, name: str) -> Path:
    """One preset vector (dataset format) -> `path` in the synth's own format, atomically."""
    presets = vectors_to_presets(spec, np.asarray(vector_P, np.float32)[None], [name])
    if preset_suffix(spec.name) == ".json":
        save_presets(path, spec.name, presets)
    else:
        export_presets(spec.name, presets, path, single=True)
    return Path(path)
