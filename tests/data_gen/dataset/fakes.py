"""Small stand-ins for the render pool and the audio model, and a runnable fake generation."""

from __future__ import annotations

import dataclasses
import sys
import time

import numpy as np

from data_gen.render.settings import RenderSettings
from data_gen.synths.sampling import PresetSampler
from data_gen.synths.spec import Param, SynthSpec

SETTINGS = RenderSettings(sample_rate=8000, render_duration=0.05, fade_out=0.01)


def tiny_spec() -> SynthSpec:
    return SynthSpec(
        name="tiny",
        engine="faust",
        source="tiny.dsp",
        params=(
            Param("gain", "num", 0),
            Param("freq", "num", 1, cardinality=5),
            Param("wave", "cat", 2, cardinality=3),
            Param("on", "bin", 3),
        ),
    )


@dataclasses.dataclass
class FakeResult:
    index: int
    preset: np.ndarray
    audio: np.ndarray
    rms: float
    num_rejected: int = 0
    failed: bool = False
    error: str | None = None


def fake_audio(preset: np.ndarray, settings: RenderSettings) -> np.ndarray:
    t = np.arange(settings.num_samples) / settings.sample_rate
    wave = np.sin(2 * np.pi * (100 + 400 * preset[1]) * t * (1 + preset[2]))
    return (preset[0] * wave).astype(np.float32)


class FakePool:
    """Renders presets as sines in-process, with the RMS filter and failures at chosen indices."""

    def __init__(self, spec, settings, num_workers=1, timeout_s=0.0, *, fail=(), delay=0.0):
        self.spec, self.settings, self.fail, self.delay = spec, settings, set(fail), delay

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def render_examples(self, indices, seed):
        sampler = PresetSampler(self.spec, seed)
        for i in indices:
            time.sleep(self.delay)
            if i in self.fail:
                yield FakeResult(i, sampler.sample(i), None, 0.0, 0, True, "boom")
                continue
            for rejected, preset in enumerate(sampler.stream(i)):
                audio = fake_audio(preset, self.settings)
                rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
                if self.settings.accepts(rms):
                    yield FakeResult(i, preset, audio, rms, rejected)
                    break

    def render_presets(self, presets, indices=None):
        indices = range(len(presets)) if indices is None else indices
        for i, preset in zip(indices, presets, strict=True):
            audio = fake_audio(preset, self.settings)
            rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
            yield FakeResult(i, preset, audio, rms)


class FakeModel:
    name, sample_rate, embedding_dim, version = "fake", SETTINGS.sample_rate, 6, "1"

    def embed(self, audio_BxN):
        chunks = np.array_split(np.abs(audio_BxN), self.embedding_dim, axis=1)
        return np.stack([c.mean(1) for c in chunks], axis=1).astype(np.float32)


def run(out_dir, *, size=40, seed=3, delay=0.0, fail=(), index_start=0, index_end=None, **kwargs):
    """Generate a tiny dataset with the fakes; other keyword arguments are `WriterOptions`."""
    from data_gen.dataset.options import Part, WriterOptions
    from data_gen.dataset.synthetic import generate

    def factory(spec, settings, workers, timeout_s):
        return FakePool(spec, settings, workers, timeout_s, delay=delay, fail=fail)

    kwargs.setdefault("shard_size", 8)
    kwargs.setdefault("batch_size", 4)
    part = Part("train", size, seed, index_start, index_end)
    options = WriterOptions(pool_factory=factory, progress=False, **kwargs)
    return generate(out_dir, tiny_spec(), SETTINGS, FakeModel(), part, options)


if __name__ == "__main__":  # used by the kill -9 test: python -m ... OUT SIZE DELAY
    run(sys.argv[1], size=int(sys.argv[2]), delay=float(sys.argv[3]),
        formats=("tfrecord", "array_record"))  # fmt: skip
