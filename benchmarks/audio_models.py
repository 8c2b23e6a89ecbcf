"""Audio-model throughput (clips/s at batch 64) against the rate one core renders clips.

    .venv/bin/python -m benchmarks.audio_models --threads 1          # every model, 2 batches each
    .venv/bin/python -m benchmarks.audio_models --models mn04 mn20_mel --batches 3
    .venv/bin/python -m benchmarks.audio_models --render_rate 40     # skip the minisub measurement

EfficientAT models use random weights (same compute as the pretrained ones). Each model gets one
warm-up call, then `--batches` timed batches of `--batch` clips of `--seconds` at its own sample
rate; a GPU row is added when CUDA is present. The renderer figure is the bare in-process loop of
the minisub synth (`make_renderer(...).render`). Both are reported in wall time and in process CPU
time; with `--threads 1` the CPU figures barely move when other jobs share the machine, and their
ratio says how many render cores one single-threaded embedding process keeps up with.
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


def _time_calls(fn, batches: int, warmup=None) -> tuple[float, float]:
    """(wall, process CPU) seconds per call of `fn`, after one call of `warmup` (default `fn`).

    CPU time counts only this process's work, so it shifts far less than wall time when other
    jobs share the cores.
    """
    (warmup or fn)()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(batches):
        fn()
    return (time.perf_counter() - wall) / batches, (time.process_time() - cpu) / batches


def measure_render_rate(num_clips: int, seconds: float) -> tuple[float, float]:
    """(wall, CPU) clips/s of the minisub synth rendered in this process (bare loop, one core)."""
    from data_gen.render import RenderSettings, make_renderer
    from data_gen.synths.registry import get_spec
    from data_gen.synths.sampling import PresetSampler

    spec = get_spec("minisub")
    renderer = make_renderer(spec, RenderSettings(render_duration=seconds))
    presets_NxP = PresetSampler(spec, seed=0).sample_batch(np.arange(num_clips))
    try:
        wall, cpu = _time_calls(lambda: renderer.render(presets_NxP), 1)
    finally:
        renderer.close()
    return num_clips / wall, num_clips / cpu


def main() -> None:
    args = _parse()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load {_load()}")
    render_cpu_rate = None
    if args.render_rate is not None:
        render_cpu_rate = args.render_rate
    elif args.render_clips > 0:
        render_wall, render_cpu_rate = measure_render_rate(args.render_clips, args.seconds)
        print(
            f"minisub bare render loop: {render_wall:.1f} clips/s wall, "
            f"{render_cpu_rate:.1f} clips per CPU-second ({args.seconds} s clips)"
        )
    rows = []
    for device in devices:
        for name in args.models:
            weights = "random" if name.startswith("mn") else None
            model = get_audio_model(name, weights=weights, device=device)
            audio = _clips(args.batch, int(args.seconds * model.sample_rate), model.sample_rate)
            wall, cpu = _time_calls(
                lambda m=model, a=audio: m.embed(a),
                args.batches,
                lambda m=model, a=audio: m.embed(a[:2]),
            )
            rows.append((name, device, model.embedding_dim, model.sample_rate, wall, cpu))
            print(
                f"  {name} on {device}: {args.batch / wall:.1f} clips/s (load {_load()})",
                flush=True,
            )
        audio_32k_BxN = torch.from_numpy(_clips(args.batch, int(args.seconds * 32000), 32000))
        audio_32k_BxN = audio_32k_BxN.to(device)
        wall, cpu = _time_calls(lambda a=audio_32k_BxN: resample(a, 32000, 44100), 2)
        rows.append(("resample 32k->44.1k", device, "", 44100, wall, cpu))

    print(f"\nbatch {args.batch}, {args.seconds} s clips, {args.batches} timed batches")
    print(f"load averages (1, 5, 15 min) at the end: {_load()}")
    print(
        "\n| model | device | dim | rate (Hz) | clips/s (wall) | clips per CPU-s "
        "| x real time (CPU) | render cores one embedding core keeps up with |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, device, dim, rate, wall, cpu in rows:
        per_cpu = args.batch / cpu if device == "cpu" else float("nan")
        ratio = f"{per_cpu / render_cpu_rate:.2f}" if render_cpu_rate and device == "cpu" else "-"
        print(
            f"| {name} | {device} | {dim} | {rate} | {args.batch / wall:.1f} | {per_cpu:.1f} "
            f"| {per_cpu * args.seconds:.0f} | {ratio} |"
        )


if __name__ == "__main__":
    main()
