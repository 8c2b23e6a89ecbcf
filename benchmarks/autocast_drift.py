"""How far float16-autocast embeddings (the reference's CUDA setting) are from float32 ones.

    .venv/bin/python -m benchmarks.autocast_drift --n 300 --synth dx7 --model mn04

Renders `--n` random presets of `--synth` (in-process, 32 kHz), embeds them with `--model` in
float32 and under float16 autocast on CUDA when present; on a CPU (whose float16 convolutions are
orders of magnitude too slow) autocast is emulated the way CUDA runs it: every convolution and
linear layer reads float16-rounded inputs and weights, accumulates in float32 and rounds its
output to float16. It prints the relative error per clip, the
cosine between the two embeddings, and the retrieval cost: the MRR of float16 embeddings as
queries among the float32 ones (1.0 = every clip still finds itself first, L1 distance). The
official EfficientAT weights are used when cached, else random ones (said in the output).
"""

from __future__ import annotations

import argparse
import contextlib

import numpy as np
import torch

from data_gen.audio import get_audio_model
from data_gen.audio.efficientat_cache import official_weights_cached
from data_gen.render import RenderSettings, make_renderer
from data_gen.synths.registry import get_spec
from data_gen.synths.sampling import PresetSampler


@contextlib.contextmanager
def _emulated_half(module: torch.nn.Module):
    """float16 rounding around every conv/linear (float32 accumulation), weights included."""

    def half(t):
        return t.half().float()

    hooks, saved = [], []
    for m in module.modules():
        if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear)):
            saved.append((m, m.weight.data.clone()))
            m.weight.data = half(m.weight.data)
            hooks.append(m.register_forward_pre_hook(lambda _m, args: tuple(half(a) for a in args)))
            hooks.append(m.register_forward_hook(lambda _m, _args, out: half(out)))
    try:
        yield
    finally:
        for h in hooks:
            h.remove()
        for m, w in saved:
            m.weight.data = w


def _embed(model, audio_NxS: np.ndarray, dtype: torch.dtype | None) -> np.ndarray:
    device = model.device.type
    if dtype is None:
        cast = contextlib.nullcontext()
    elif device == "cuda":
        cast = torch.autocast(device, dtype=dtype)
    else:
        cast = _emulated_half(model.module)
    out = []
    with torch.inference_mode(), cast:
        for start in range(0, len(audio_NxS), 32):
            chunk = torch.from_numpy(audio_NxS[start : start + 32]).to(model.device)
            out.append(model.module(chunk).float().cpu().numpy())
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--synth", default="dx7")
    parser.add_argument("--model", default="mn04")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cached = official_weights_cached(f"{args.model.split('_')[0]}_as")
    model = get_audio_model(args.model, None if cached else "random:0")
    spec = get_spec(args.synth)
    renderer = make_renderer(spec, RenderSettings(sample_rate=model.sample_rate))
    presets = PresetSampler(spec, seed=args.seed).sample_batch(np.arange(args.n))
    audio_NxS = np.asarray(renderer.render(presets), np.float32)
    e32_NxD = _embed(model, audio_NxS, None)
    e16_NxD = _embed(model, audio_NxS, torch.float16)
    rel_N = np.linalg.norm(e16_NxD - e32_NxD, axis=1) / np.linalg.norm(e32_NxD, axis=1)
    cos_N = (e16_NxD * e32_NxD).sum(1) / (
        np.linalg.norm(e16_NxD, axis=1) * np.linalg.norm(e32_NxD, axis=1)
    )
    dist_NxN = np.abs(e16_NxD[:, None, :] - e32_NxD[None, :, :]).mean(-1)
    own_N = np.diag(dist_NxN)
    rank_N = (dist_NxN <= own_N[:, None]).sum(1)  # ties count against
    print(
        f"{args.model} ({'official' if cached else 'RANDOM'} weights), float16 "
        f"{'autocast' if model.device.type == 'cuda' else 'emulated on the CPU'}, "
        f"{args.n} {args.synth} clips: relative L2 error median {np.median(rel_N):.2e}, "
        f"max {rel_N.max():.2e}; cosine min {cos_N.min():.6f}; "
        f"max |diff| {np.abs(e16_NxD - e32_NxD).max():.2e} (embedding |mean| "
        f"{np.abs(e32_NxD).mean():.2e}); float16->float32 MRR {np.mean(1.0 / rank_N):.4f}"
    )


if __name__ == "__main__":
    main()
