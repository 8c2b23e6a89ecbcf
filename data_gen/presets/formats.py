"""Which file format each synth's presets come in and go out as: one entry point for the CLI."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
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
from data_gen.synths.registry import list_synths
from data_gen.synths.spec import SynthSpec


@dataclasses.dataclass(frozen=True)
class PresetFormat:
    """One synth's preset files: what `import` reads and, with an encoder, what `export` writes."""

    reads: str  # the files it reads, for --help
    # (spec, paths, lenient, diva_key_map, strict) -> the presets of every file, in order
    read: Callable[..., list[ImportedPreset]]
    suffix: str = ".json"  # the file one preset is written to: our presets JSON without encoder
    encode: Callable[..., bytes] | None = None  # (spec, presets, single, channel) -> file bytes
    per_file: int | None = None  # presets one written file holds at most (`export --split`)


def _each_file(
    read_one: Callable[..., list[ImportedPreset]],
) -> Callable[..., list[ImportedPreset]]:
    """A reader of many files from a reader of one; `lenient` skips an unreadable file."""

    def read(spec, paths, lenient, diva_key_map, strict) -> list[ImportedPreset]:
        out: list[ImportedPreset] = []
        for path in paths:
            try:
                out += read_one(spec, path, lenient, diva_key_map, strict)
            except PresetFileError as err:
                if not lenient:
                    raise
                warnings.warn(f"{err} (file skipped)", PresetWarning, stacklevel=3)
        return out

    return read


def _read_dx7(spec, path, lenient, diva_key_map, strict) -> list[ImportedPreset]:
    voices = dx7_sysex.read_dx7_file(path, lenient, strict)
    return dx7_presets.voices_to_presets(voices, str(path), spec.name)


def _read_diva(spec, path, lenient, diva_key_map, strict) -> list[ImportedPreset]:
    if diva_key_map is None:
        raise ValueError(
            "Diva .h2p values are in Diva's own units: pass a key map "
            "(JSON {'MODULE:Key': [spec_name, native_min, native_max]})"
        )
    return diva_h2p.read_h2p(path, diva_h2p.load_key_map(diva_key_map), lenient)


def _encode_dx7(spec, presets, single, channel) -> bytes:
    template = dx7_presets.spec_template(spec)
    voices = [
        dx7_presets.parameters_to_voice(p.parameters, p.name, spec.name, template) for p in presets
    ]
    if single:
        return b"".join(dx7_sysex.encode_single_voice(v, channel) for v in voices)
    if len(voices) > dx7_sysex.VOICES_PER_CARTRIDGE:
        raise ValueError(
            f"{len(voices)} voices do not fit one 32-voice cartridge: write single voices "
            "or split the presets"
        )
    return dx7_sysex.encode_cartridge(voices, channel)


def _encode_amsynth(spec, presets, single, channel) -> bytes:
    bank = [amsynth_bank.from_parameters(p.parameters, p.name) for p in presets]
    return amsynth_bank.format_amsynth_bank(bank).encode()


_DX7 = PresetFormat(
    ".syx (cartridges, single voices) or raw packed .dx7",
    _each_file(_read_dx7),
    ".syx",
    _encode_dx7,
    dx7_sysex.VOICES_PER_CARTRIDGE,
)
# The registered synths' own formats, by synth name (a variant "diva@x" has its synth's format).
_OWN = {
    "dx7": _DX7,
    "dexed": _DX7,
    "amsynth": PresetFormat(
        "amsynth .bank",
        _each_file(lambda spec, path, lenient, *_: amsynth_bank.read_amsynth_bank(path, lenient)),
        ".bank",
        _encode_amsynth,
    ),
    "talnm": PresetFormat(
        "TAL-NoiseMaker .noisemakerpreset",
        _each_file(
            lambda spec, path, lenient, *_: talnm_preset.read_noisemaker_preset(path, spec, lenient)
        ),
    ),
    "diva": PresetFormat("Diva .h2p (with a key map)", _each_file(_read_diva)),
}
# Any other spec (a spec file from `jaxproxy-data synth describe`): the plug-in reads its own files.
_PLUGIN_FILES = PresetFormat(
    plugin_presets.SUFFIXES,
    lambda spec, paths, lenient, *_: plugin_presets.read_plugin_presets(
        spec, paths, lenient=lenient
    ),
)
READABLE = {**{name: f.reads for name, f in _OWN.items()}, "spec file (.json)": _PLUGIN_FILES.reads}
WRITABLE = {name: f.suffix for name, f in _OWN.items() if f.encode is not None}


def format_of(spec: SynthSpec) -> PresetFormat | None:
    """`spec`'s preset files: a registered synth's own format (None when it has none), the
    plug-in's own files for a user's spec (a spec file)."""
    own = _OWN.get(spec.name.partition("@")[0])
    if own is not None or spec.name in list_synths():
        return own
    return _PLUGIN_FILES


def import_files(
    spec: SynthSpec,
    paths: Sequence[str | Path],
    lenient: bool = False,
    diva_key_map: str | Path | None = None,
    strict: bool = False,
) -> list[ImportedPreset]:
    """All presets of many files, in order, as `spec`'s raw [0, 1] parameter values; with
    `lenient`, an unreadable file is skipped.

    DX7/Dexed bytes beyond a field's range are read as Dexed reads them, clipped to the range
    (warned), unless `strict`. A spec file's synth (`jaxproxy-data synth describe`) has its
    files read by the plug-in.
    """
    fmt = format_of(spec)
    if fmt is None:
        raise ValueError(
            f"no preset reader for synth {spec.name!r}; readers exist for {sorted(READABLE)}"
        )
    return fmt.read(spec, paths, lenient, diva_key_map, strict)


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
    spec: SynthSpec, presets: Sequence[ImportedPreset], single: bool = False, channel: int = 0
) -> bytes:
    """Presets -> the bytes of a file the synth loads. Parameters a preset lacks are held at the
    spec's defaults (for DX7 voices: the excluded fields' held values, INIT VOICE otherwise)."""
    if not presets:
        raise ValueError("no preset to write")
    return _writer(spec).encode(spec, presets, single, channel)


def _writer(spec: SynthSpec) -> PresetFormat:
    fmt = format_of(spec)
    if fmt is None or fmt.encode is None:
        raise ValueError(
            f"no preset writer for synth {spec.name!r}; writers exist for {sorted(WRITABLE)}"
        )
    return fmt


def export_presets(
    spec: SynthSpec,
    presets: Sequence[ImportedPreset],
    path: str | Path,
    single: bool = False,
    channel: int = 0,
    split: bool = False,
) -> list[Path]:
    """Write presets to `path` atomically (nothing is left behind when encoding fails).

    With `split`, presets beyond what one file holds (DX7: one cartridge) go to `stem_001.syx`,
    `stem_002.syx`, ... (32 voices each). Returns the files written.
    """
    path = Path(path)
    size = _writer(spec).per_file
    if not (split and size and len(presets) > size):
        write_bytes_atomic(path, encode_presets(spec, presets, single, channel))
        return [path]
    chunks = [presets[k : k + size] for k in range(0, len(presets), size)]
    blobs = [encode_presets(spec, chunk, single, channel) for chunk in chunks]  # all or none
    paths = [path.with_name(f"{path.stem}_{k:03d}{path.suffix}") for k in range(1, len(blobs) + 1)]
    for out, blob in zip(paths, blobs, strict=True):
        write_bytes_atomic(out, blob)
    return paths


def preset_suffix(spec: SynthSpec) -> str:
    """The file a synth loads one preset from: .syx (DX7/Dexed single voice), .bank (amsynth),
    else our presets JSON (`data_gen.presets export` turns it into other formats)."""
    fmt = format_of(spec)
    return fmt.suffix if fmt is not None else ".json"


def write_preset(spec: SynthSpec, vector_P: np.ndarray, path: str | Path, name: str) -> Path:
    """One preset vector (dataset format) -> `path` in the synth's own format, atomically."""
    presets = vectors_to_presets(spec, np.asarray(vector_P, np.float32)[None], [name])
    if preset_suffix(spec) == ".json":
        save_presets(path, spec.name, presets)
    else:
        export_presets(spec, presets, path, single=True)
    return Path(path)
