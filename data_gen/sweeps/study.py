"""One synth's part of the ranking study: choose starting presets, render the sweeps, score them."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from data_gen.audio import AudioModel
from data_gen.presets.presets_json import ImportedPreset
from data_gen.render import RenderPool, RenderSettings
from data_gen.sweeps import build
from data_gen.sweeps.definitions import ATTRIBUTES, SynthSweeps, get_sweeps
from data_gen.sweeps.scoring import DISTANCES, attribute_correlations, truncate
from data_gen.synths.dx7 import DX7_ALGORITHM_PARAM
from data_gen.synths.registry import get_spec
from data_gen.synths.spec import SynthSpec


def ranking_settings() -> RenderSettings:
    """The study's render (facts 3.4): 44.1 kHz, 4 s, note 60, vel. 100, held 2 s, 0.1 s fade."""
    return RenderSettings(
        sample_rate=44100, midi_note=60, velocity=100, note_duration=2.0, render_duration=4.0,
        fade_out=0.1,
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class StudySize:
    """How much of the study to run. The paper: 10 presets x 20 values per attribute."""

    num_presets: int = 10
    num_values: int = 20
    attributes: tuple[str, ...] | None = None  # None: every attribute the synth has
    random_pool: int = 8  # x num_presets random candidates, for synths without preset files
    dx7_algorithms: int = 2  # DX7 candidates from its most common algorithms (compile time)
    min_gap_db: float = 0.3  # screening: the ends of a sweep must differ at least this much
    max_rounds: int = 5  # screening rounds, each trying 2 candidates per missing preset


@dataclasses.dataclass
class SynthStudy:
    """Everything measured for one synth. `correlations[model][mode][distance][attribute]` is
    a [presets, 2] list of (up, down) Spearman correlations; mode is "full" or e.g. "1s"."""

    synth: str
    attributes: list[str]
    lacks: dict[str, str]
    notes: dict[str, str]
    values: dict[str, list[float]]
    starting_presets: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    screening: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    rms_outside: dict[str, int] = dataclasses.field(default_factory=dict)
    failed: dict[str, int] = dataclasses.field(default_factory=dict)
    correlations: dict = dataclasses.field(default_factory=dict)
    strips: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)


def mode_name(truncate_s: float | None) -> str:
    return "full" if truncate_s is None else f"{truncate_s:g}s"


def _render(pool: RenderPool, presets_NxP: np.ndarray) -> list[np.ndarray | None]:
    """Clips in order (None when failed)."""
    return [None if r.failed else r.audio for r in pool.render_presets(presets_NxP)]


def _candidates(
    synth: str, spec: SynthSpec, size: StudySize, seed: int, workers: int, settings: RenderSettings
) -> list[ImportedPreset]:
    sweeps = get_sweeps(synth)
    if not sweeps.preset_files:
        with RenderPool(spec, settings, workers) as pool:
            return build.random_presets(pool, size.random_pool * size.num_presets, seed)
    presets = build.hand_crafted_presets(spec, sweeps)
    if spec.engine == "faust_dx7":
        presets = build.keep_common(presets, DX7_ALGORITHM_PARAM, size.dx7_algorithms)
    return presets


def run_synth(
    synth: str,
    models: Mapping[str, AudioModel],
    size: StudySize,
    truncations: Sequence[float | None] = (None,),
    seed: int = 0,
    workers: int = 2,
    log: Callable[[str], None] = print,
) -> SynthStudy:
    """Screen starting presets, render every sweep, embed with every model and score."""
    sweeps = get_sweeps(synth)
    attributes = [a for a in sweeps.attributes if size.attributes is None or a in size.attributes]
    settings = ranking_settings()
    base = get_spec(synth)
    spec = build.sweep_spec(base, sweeps)
    values = {a: build.sweep_values(sweeps.sweeps[a], size.num_values) for a in attributes}
    study = SynthStudy(
        synth, attributes, dict(sweeps.lacks), {a: sweeps.sweeps[a].note for a in attributes},
        {a: [float(v) for v in values[a]] for a in attributes},
    )  # fmt: skip
    start = time.perf_counter()
    candidates = _candidates(synth, base, size, seed, workers, settings)
    study.seconds["candidates"] = time.perf_counter() - start
    log(
        f"[{synth}] {len(candidates)} candidate starting presets "
        f"({study.seconds['candidates']:.0f} s)"
    )

    with RenderPool(spec, settings, workers, chunk_size=8) as pool:
        start = time.perf_counter()
        chosen = _screen(pool, base, spec, sweeps, attributes, candidates, size, seed, study)
        study.seconds["screening"] = time.perf_counter() - start
        log(f"[{synth}] screening: {study.screening} ({study.seconds['screening']:.0f} s)")
        study.seconds.update(render=0.0, embed=0.0)
        for attribute in attributes:
            start = time.perf_counter()
            sweep = sweeps.sweeps[attribute]
            grids = [
                build.preset_grid(spec, base, p, sweep, values[attribute])
                for p in chosen[attribute]
            ]
            if not grids:
                continue
            clips = _render(pool, np.concatenate(grids))
            study.failed[attribute] = sum(c is None for c in clips)
            silent = np.zeros(settings.num_samples, np.float32)
            audio_NxS = np.stack([silent if c is None else c for c in clips])
            rms_N = np.sqrt(np.mean(np.square(audio_NxS, dtype=np.float64), axis=1))
            study.rms_outside[attribute] = int(sum(not settings.accepts(r) for r in rms_N))
            study.strips[attribute] = audio_NxS[: size.num_values].copy()
            study.seconds["render"] += time.perf_counter() - start
            start = time.perf_counter()
            _score(
                study, attribute, audio_NxS, models, truncations, len(grids), settings.sample_rate
            )
            study.seconds["embed"] += time.perf_counter() - start
            log(f"[{synth}] {attribute}: {len(grids)} sweeps rendered and scored")
    return study


def _screen(
    pool: RenderPool,
    base: SynthSpec,
    spec: SynthSpec,
    sweeps: SynthSweeps,
    attributes: list[str],
    candidates: list[ImportedPreset],
    size: StudySize,
    seed: int,
    study: SynthStudy,
) -> dict[str, list[ImportedPreset]]:
    """Pick each attribute's starting presets: candidates in a seeded order, kept when the two
    ends of their sweep pass the RMS filter and differ (`build.screen`)."""
    order = {
        a: build.candidate_order(len(candidates), seed, ATTRIBUTES.index(a)) for a in attributes
    }
    next_pos = dict.fromkeys(attributes, 0)
    chosen: dict[str, list] = {a: [] for a in attributes}
    tried = dict.fromkeys(attributes, 0)
    passed = dict.fromkeys(attributes, 0)
    for _ in range(size.max_rounds):
        jobs = []
        for a in attributes:
            want = 2 * (size.num_presets - len(chosen[a]))
            take = order[a][next_pos[a] : next_pos[a] + want]
            next_pos[a] += len(take)
            jobs += [(a, candidates[int(i)]) for i in take]
        if not jobs:
            break
        ends = np.array([0, -1])
        grids = [
            build.preset_grid(
                spec,
                base,
                p,
                sweeps.sweeps[a],
                build.sweep_values(sweeps.sweeps[a], size.num_values),
            )[ends]
            for a, p in jobs
        ]
        clips = _render(pool, np.concatenate(grids))
        for k, (a, preset) in enumerate(jobs):
            tried[a] += 1
            result = build.screen(
                clips[2 * k], clips[2 * k + 1], preset, pool.settings.accepts, size.min_gap_db
            )
            passed[a] += result.kept
            if result.kept and len(chosen[a]) < size.num_presets:
                chosen[a].append(preset)
    for a in attributes:
        study.screening[a] = {"tried": tried[a], "passed": passed[a], "kept": len(chosen[a])}
        study.starting_presets[a] = build.names_of(chosen[a])
    return chosen


def _score(
    study: SynthStudy,
    attribute: str,
    audio_NxS: np.ndarray,
    models: Mapping[str, AudioModel],
    truncations: Sequence[float | None],
    num_presets: int,
    sample_rate: int,
) -> None:
    """Embed one attribute's sounds ([presets x values, S]) with every model and length; store
    the (up, down) correlations of every distance."""
    for name, model in models.items():
        for cut in truncations:
            clips = audio_NxS if cut is None else truncate(audio_NxS, sample_rate, cut)
            emb_PxVxE = model.embed(clips, sample_rate=sample_rate).reshape(
                num_presets, -1, model.embedding_dim
            )
            per_mode = study.correlations.setdefault(name, {}).setdefault(mode_name(cut), {})
            for distance in DISTANCES:
                rho = attribute_correlations(emb_PxVxE, distance)
                per_mode.setdefault(distance, {})[attribute] = rho.tolist()
