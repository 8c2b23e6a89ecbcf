"""Starting presets and the preset grids of the ranking study: sweep spec, candidates, screening.

A starting preset is an `ImportedPreset` (raw [0, 1] values of the synth spec's used parameters).
Hand-crafted ones are the synth's preset files after the paper's processing (used parameters
kept, values clipped and snapped, duplicates dropped; `data_gen.presets.processing`); random ones
are synthetic examples that passed the RMS filter (`RenderPool.render_examples`).

Sweeps render with a *sweep spec*: the synth spec with every parameter a sweep sets made a used
parameter (e.g. the DX7's transpose, excluded from the dataset spec) and every sampling interval
widened to [0, 1], so a swept or hand-crafted value is sent to the synth unclipped. Parameters the
dataset spec excludes keep its held value unless the attribute sets them.
"""

from __future__ import annotations

import dataclasses
import glob
from collections.abc import Callable, Sequence

import numpy as np

from data_gen.presets.formats import import_files, vectors_to_presets
from data_gen.presets.presets_json import ImportedPreset
from data_gen.presets.processing import process_presets
from data_gen.render import RenderPool
from data_gen.sweeps.definitions import Sweep, SynthSweeps
from data_gen.synths.spec import SynthSpec


def sweep_spec(spec: SynthSpec, sweeps: SynthSweeps) -> SynthSpec:
    """`spec` with the swept and fixed parameters used and every interval [0, 1]."""
    names = sweeps.names()
    unknown = sorted(names - {p.name for p in spec.params})
    if unknown:
        raise ValueError(
            f"sweeps for {sweeps.synth}: synth {spec.name!r} has no parameters {unknown}"
        )
    params = tuple(
        dataclasses.replace(p, used=p.used or p.name in names, interval=(0.0, 1.0))
        for p in spec.params
    )
    return dataclasses.replace(spec, params=params)


def hand_crafted_presets(spec: SynthSpec, sweeps: SynthSweeps) -> list[ImportedPreset]:
    """The synth's preset files (`sweeps.preset_files` globs) after the paper's processing."""
    paths = sorted({p for pattern in sweeps.preset_files for p in glob.glob(pattern)})
    if not paths:
        raise FileNotFoundError(
            f"{sweeps.synth}: no preset files match {list(sweeps.preset_files)} (install the "
            "package that ships them, e.g. amsynth or hexter)"
        )
    presets = import_files(spec, paths, lenient=True)
    return process_presets(spec, presets, lenient=True).to_imported()


def random_presets(pool: RenderPool, count: int, seed: int) -> list[ImportedPreset]:
    """`count` random presets of `pool.spec` that pass the pool's RMS filter."""
    results = list(pool.render_examples(range(count), seed, return_audio=False))
    kept = [r for r in results if not r.failed]
    if not kept:
        raise RuntimeError(f"{pool.spec.name}: no random preset passed the RMS filter")
    vectors = np.stack([r.preset for r in kept])
    names = [f"random {seed}/{r.index}" for r in kept]
    return vectors_to_presets(pool.spec, vectors, names)


def sweep_values(sweep: Sweep, num_values: int) -> np.ndarray:
    """The raw values of a sweep: `np.linspace` over its interval, as the paper does."""
    return np.linspace(*sweep.interval, num_values)


def preset_grid(
    spec: SynthSpec, base: SynthSpec, preset: ImportedPreset, sweep: Sweep, values: np.ndarray
) -> np.ndarray:
    """Preset vectors [V, P] of `spec` (a sweep spec): the starting preset with the sweep's extras
    and each value in turn on the swept parameters."""
    used_in_base = {p.name for p in base.used_params}
    row = np.array(
        [
            preset.parameters.get(p.name, p.default) if p.name in used_in_base else p.default
            for p in spec.used_params
        ]
    )
    names = [p.name for p in spec.used_params]
    for name, value in sweep.extras.items():
        row[names.index(name)] = value
    raw_VxP = np.repeat(row[None], len(values), axis=0)
    for name in sweep.params:
        raw_VxP[:, names.index(name)] = values
    return spec.from_render_values(raw_VxP)


def spectral_gap_db(a_S: np.ndarray, b_S: np.ndarray, n_fft: int = 1024, hop: int = 256) -> float:
    """Mean absolute difference (dB) of two clips' magnitude spectrograms, floored 80 dB below
    their joint peak: how far apart two sounds are, without any audio model's opinion."""

    def db(x: np.ndarray) -> np.ndarray:
        frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, n_fft // 2), n_fft)[::hop]
        return 20 * np.log10(np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)) + 1e-9)

    da, dbb = db(np.asarray(a_S, np.float64)), db(np.asarray(b_S, np.float64))
    floor = max(da.max(), dbb.max()) - 80.0
    return float(np.mean(np.abs(np.maximum(da, floor) - np.maximum(dbb, floor))))


@dataclasses.dataclass(frozen=True)
class Screen:
    """Why a candidate starting preset was kept or refused for one attribute."""

    preset: ImportedPreset
    rms: tuple[float, float]  # of the sweep's first and last sounds
    gap_db: float
    kept: bool


def screen(
    first_S: np.ndarray | None,
    last_S: np.ndarray | None,
    preset: ImportedPreset,
    rms_ok: Callable[[float], bool],
    min_gap_db: float,
) -> Screen:
    """A candidate is kept when both ends of its sweep render, pass the RMS filter (`rms_ok`)
    and differ by at least `min_gap_db` (the paper hand-picked presets where the change is
    heard)."""
    if first_S is None or last_S is None:
        return Screen(preset, (float("nan"), float("nan")), float("nan"), False)
    rms = tuple(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) for x in (first_S, last_S))
    gap = spectral_gap_db(first_S, last_S)
    return Screen(preset, rms, gap, all(rms_ok(r) for r in rms) and gap >= min_gap_db)


def candidate_order(num_candidates: int, seed: int, attribute_index: int) -> np.ndarray:
    """A seeded order of the candidates, different for each attribute."""
    rng = np.random.default_rng([seed, attribute_index])
    return rng.permutation(num_candidates)


def names_of(presets: Sequence[ImportedPreset]) -> list[str]:
    return [f"{p.name} ({p.source})" for p in presets]


def keep_common(presets: Sequence[ImportedPreset], name: str, k: int) -> list[ImportedPreset]:
    """The presets whose value of `name` is one of its `k` most frequent (e.g. the DX7's
    algorithms, each of which costs a 15-30 s compile per render worker)."""
    counts: dict[float, int] = {}
    for p in presets:
        counts[p.parameters[name]] = counts.get(p.parameters[name], 0) + 1
    common = set(sorted(counts, key=lambda v: (-counts[v], v))[:k])
    return [p for p in presets if p.parameters[name] in common]
