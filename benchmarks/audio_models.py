"""Audio-model throughput (clips/s at batch 64) against the rate one core renders clips.

    .venv/bin/python -m benchmarks.audio_models                      # every model, 2 batches each
    .venv/bin/python -m benchmarks.audio_models --models mn04 mn20_mel --batches 3
    .venv/bin/python -m benchmarks.audio_models --render_rate 120    # skip the minisub measurement

EfficientAT models use random weights (same compute as the pretrained ones). Each model gets one
warm-up call, then `--batches` timed batches of `--batch` clips of `--seconds` at its own sample
rate; a GPU row is added when CUDA is present. The renderer figure is the bare in-process loop of
the minisub synth on one core (`make_renderer(...).render`), so "clips/s per render core" tells how
many render cores one embedding process keeps up with. The machine is shared: compare ratios
within one run, and read the load averages printed with the table.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from data_gen.audio import get_audio_model, list_audio_models
from data_gen.audio.resample import resample


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list_audio_models())
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=2, help="timed batches per model")
    parser.add_argument("--seconds", type=float, default=5.0, help="clip length")
    parser.add_argument(
        "--render_rate", type=float, default=None, help="clips/s of one render core"
    )
    parser.add_argument("--render_clips", type=int, default=16, help="minisub clips to time")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: all)"
    )
    return parser.parse_args()


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _clips(batch: int, samples: int, rate: int) -> np.ndarray:
    """Decaying tones with a little noise: finite, non-silent audio like a synth's."""
    rng = np.random.default_rng(0)
    t = np.arange(samples) / rate
    freqs = rng.uniform(60.0, 2000.0, size=(batch, 1))
    audio = 0.5 * np.sin(2 * np.pi * freqs * t) * np.exp(-t) + 0.01 * rng.standard_normal(
        (batch, samples)
    )
    return audio.astype(np.float32)


def _time_calls(fn, batches: int, warmup=None) -> float:
    """Seconds per call of `fn`, after one call of `warmup` (default `fn`)."""
    (warmup or fn)()
    start = time.perf_counter()
    for _ in range(batches):
        fn()
    return (time.perf_counter() - start) / batches


def measure_render_rate(num_clips: int, seconds: float) -> float:
    """Clips/s of the minisub synth rendered in this process (one core, bare loop)."""
    from data_gen.render import RenderSettings, make_renderer
    from data_gen.synths.registry import get_spec
    from data_gen.synths.sampling import PresetSampler

    spec = get_spec("minisub")
    renderer = make_renderer(spec, RenderSettings(render_duration=seconds))
    presets_NxP = PresetSampler(spec, seed=0).sample_batch(np.arange(num_clips))
    try:
        per_call = _time_calls(lambda: renderer.render(presets_NxP), 1)
    finally:
        renderer.close()
    return num_clips / per_call


def main() -> None:
    args = _parse()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load {_load()}")
    render_rate = args.render_rate
    if render_rate is None and args.render_clips > 0:
        render_rate = measure_render_rate(args.render_clips, args.seconds)
        print(f"minisub bare render loop, one core: {render_rate:.1f} clips/s of {args.seconds} s")
    rows = []
    for device in devices:
        for name in args.models:
            weights = "random" if name.startswith("mn") else None
            model = get_audio_model(name, weights=weights, device=device)
            audio = _clips(args.batch, int(args.seconds * model.sample_rate), model.sample_rate)
            per_batch = _time_calls(
                lambda m=model, a=audio: m.embed(a),
                args.batches,
                lambda m=model, a=audio: m.embed(a[:2]),
            )
            rows.append(
                (name, device, model.embedding_dim, model.sample_rate, args.batch / per_batch)
            )
            print(f"  {name} on {device}: {rows[-1][-1]:.1f} clips/s (load {_load()})", flush=True)
        audio_32k_BxN = torch.from_numpy(_clips(args.batch, int(args.seconds * 32000), 32000))
        audio_32k_BxN = audio_32k_BxN.to(device)
        per_batch = _time_calls(lambda a=audio_32k_BxN: resample(a, 32000, 44100), 2)
        rows.append(("resample 32k->44.1k", device, "", 44100, args.batch / per_batch))

    print(f"\nbatch {args.batch}, {args.seconds} s clips, {args.batches} timed batches")
    print(f"load averages (1, 5, 15 min) at the end: {_load()}")
    print(
        "\n| model | device | dim | rate (Hz) | clips/s | x real time | clips/s per render core |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, device, dim, rate, clips_per_s in rows:
        ratio = f"{clips_per_s / render_rate:.2f}" if render_rate else "-"
        realtime = clips_per_s * args.seconds
        print(
            f"| {name} | {device} | {dim} | {rate} | {clips_per_s:.1f} | {realtime:.0f} | {ratio} |"
        )


if __name__ == "__main__":
    main()
