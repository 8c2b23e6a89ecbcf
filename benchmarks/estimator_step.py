"""Estimator train-step throughput with the frozen TFM proxy inside: JAX vs plain PyTorch.

    .venv/bin/python -m benchmarks.estimator_step                       # batch 64, Dexed layout
    .venv/bin/python -m benchmarks.estimator_step --steps=5 --repeats=2
    .venv/bin/python -m benchmarks.estimator_step --before_after --steps=5  # old vs new convs

One fresh process per measurement times a full training step at batch 64: the estimator CNN
(facts 9.2) on a 128 x 313 log-mel, decoding, the parameter loss and the audio-embedding loss
10 x L1 through a frozen TFM proxy (D = 1072, the paper's mn20_mel size), backward, AdamW with
Dexed's settings. JAX runs this project's step (`trainers.estimator_step`) with the proxy loaded
from a real export (`jaxproxy.load_proxy`); PyTorch runs the same model and loss in eager mode
(one thread per core, the cores XLA uses; median of `--repeats` alternating rounds). Each side is
also timed without the proxy (the PLoss schedule), which gives the proxy's share of the step.
Compare ratios within one run: the machine may be shared (`uptime` is printed before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from benchmarks.step_setup import layout_for as _layout
from benchmarks.train_step import _median, _time_calls

BATCH, FRAMES, EMB = 64, 313, 1072
_RESULT = "RESULT "


def _inputs(layout, count: int = 2):
    rng = np.random.default_rng(0)
    out = []
    for _ in range(count):
        presets = rng.random((BATCH, layout.n_used), dtype=np.float32)
        for col, card in zip(layout.cat_idx, layout.cat_cards, strict=True):
            presets[:, col] = rng.integers(0, card, BATCH)
        presets[:, layout.bin_idx] = np.round(presets[:, layout.bin_idx])
        mel = rng.uniform(-100, 20, (BATCH, 128, FRAMES)).astype(np.float32)
        out.append((mel, presets, rng.standard_normal((BATCH, EMB), dtype=np.float32)))
    return out


def _config(schedule: str):
    from jaxproxy.configs import estimator as estimator_config

    config = estimator_config.get_config(f"synth=dexed,schedule={schedule}")
    config.unlock()
    config.ramp_start_frac, config.ramp_warm_frac = 0.0, 0.0  # audio loss on from step 0
    return config


def jax_worker(schedule: str, steps: int, warmup: int, synth: str) -> dict:
    run_call = _jax_step(schedule, synth, plain_convs=False)
    first, per_call = _time_calls(run_call, steps, warmup)
    return {"first_s": first, "step_s": per_call, "samples_per_s": BATCH / per_call}


def before_after_worker(schedule: str, steps: int, synth: str) -> dict:
    """The step with the estimator's convolutions as plain `lax.conv_general_dilated` (before
    `models.strided_conv`) and as built now, in one process, timed in alternating calls: a fair
    ratio even when other jobs share the cores."""
    import time

    calls = {
        name: _jax_step(schedule, synth, plain_convs=name == "plain") for name in ("plain", "new")
    }
    times: dict[str, list[float]] = {name: [] for name in calls}
    for run_call in calls.values():
        run_call()  # compile
        run_call()
    for _ in range(steps):
        for name, run_call in calls.items():
            start = time.perf_counter()
            run_call()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def _jax_step(schedule: str, synth: str, plain_convs: bool):
    """`run_call()`: one jitted train step of the trainer, alternating two batches."""
    import jax
    from flax import nnx
    from jax import lax

    from jaxproxy import export, load_proxy, models, sharding, train_state
    from jaxproxy.models import functional
    from jaxproxy.models.estimator import SoundMatchingEstimator
    from jaxproxy.trainers import estimator_step, split_training

    layout, config = _layout(synth), _config(schedule)
    tfm = models.build_encoder("tfm", layout, EMB, rngs=nnx.Rngs(1))
    with tempfile.TemporaryDirectory() as tmp:
        spec = {"name": synth, "params": _spec_params(layout)}
        folder = export.export_model(
            os.path.join(tmp, "p"),
            tfm,
            config={"encoder": "tfm"},
            spec_json=spec,
            embedding_dim=EMB,
        )
        proxy = load_proxy(folder)
    model = SoundMatchingEstimator(layout, mel_min=-100.0, mel_max=20.0, rngs=nnx.Rngs(0))
    if plain_convs:
        for conv in model.convs:
            conv.conv_general_dilated = lax.conv_general_dilated
    model_def, params, batch_stats = functional.split_model(model)
    tx = train_state.estimator_optimizer(config)
    mesh = sharding.make_mesh()
    state = jax.device_put(
        train_state.init_estimator_state(params, batch_stats, tx), sharding.replicated(mesh)
    )
    step_fn = estimator_step.make_train_step(model_def, tx, layout, proxy, config, 1_000_000)
    jitted = split_training.jit_train_step(step_fn, mesh, state, proxy.weights, 1)
    names = (split_training.MEL, split_training.PRESETS, estimator_step.TARGETS)
    data = [
        sharding.host_local_to_global(dict(zip(names, arrays, strict=True)), mesh)
        for arrays in _inputs(layout)
    ]
    holder, counter = [state], [0]

    def run_call():
        holder[0], metrics = jitted(holder[0], (data[counter[0] % 2],))
        counter[0] += 1
        return float(metrics["loss"])

    return run_call


def _spec_params(layout) -> list[dict]:
    params = []
    cards = dict(zip(layout.cat_idx.tolist(), layout.cat_cards.tolist(), strict=True))
    for i in range(layout.n_used):
        kind = "cat" if i in cards else "bin" if i in set(layout.bin_idx.tolist()) else "num"
        params.append({"name": f"p{i}", "kind": kind, "cardinality": cards.get(i, -1)})
    return params


def torch_worker(schedule: str, steps: int, warmup: int, synth: str, threads: int) -> dict:
    import torch
    from torch import nn

    from benchmarks.torch_encoders import TFM

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    layout, config = _layout(synth), _config(schedule)
    widths = layout.used_widths
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
    chans = (1, 8, 16, 32, 64, 128, 256, 512)
    layers = []
    for i in range(7):
        layers += [nn.Conv2d(chans[i], chans[i + 1], 5 if i == 0 else 4, 2, 2), nn.LeakyReLU(0.1)]
        if i > 0:
            layers.append(nn.BatchNorm2d(chans[i + 1]))
    layers += [nn.Conv2d(512, 2048, 1), nn.LeakyReLU(0.1), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers += [
        nn.Dropout(0.3),
        nn.Linear(2048, int(widths.sum())),
        nn.BatchNorm1d(int(widths.sum())),
    ]
    model = nn.Sequential(*layers).train()
    proxy = TFM(layout, EMB).eval()
    for p in proxy.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(
        model.parameters(), lr=config.lr, betas=(config.b1, config.b2), eps=config.eps,
        weight_decay=config.weight_decay,
    )  # fmt: skip
    num = [int(starts[i]) for i in layout.num_idx]
    bins = [int(starts[i]) for i in layout.bin_idx]
    cats = [(int(starts[i]), int(c)) for i, c in zip(layout.cat_idx, layout.cat_cards, strict=True)]
    with_audio = schedule != "ploss"
    data = [tuple(torch.from_numpy(a) for a in arrays) for arrays in _inputs(layout)]
    counter = [0]

    def run_call():
        mel, presets, target = data[counter[0] % 2]
        counter[0] += 1
        opt.zero_grad(set_to_none=True)
        logits = model(((mel + 100) / 60 - 1)[:, None])
        loss = (torch.sigmoid(logits[:, num]) - presets[:, layout.num_idx]).abs().mean()
        loss = loss + nn.functional.binary_cross_entropy_with_logits(
            logits[:, bins], presets[:, layout.bin_idx]
        )
        for k, (s, c) in enumerate(cats):
            loss = loss + 0.01 * nn.functional.cross_entropy(
                logits[:, s : s + c], presets[:, layout.cat_idx[k]].long(), label_smoothing=0.02
            )
        if with_audio:
            decoded = torch.empty_like(presets)
            decoded[:, layout.num_idx] = torch.sigmoid(logits[:, num])
            decoded[:, layout.bin_idx] = torch.round(torch.sigmoid(logits[:, bins]))
            for k, (s, c) in enumerate(cats):
                decoded[:, layout.cat_idx[k]] = logits[:, s : s + c].argmax(1).float()
            loss = loss + 10.0 * (proxy(decoded) - target).abs().mean()
        loss.backward()
        opt.step()
        return loss.item()

    first, per_call = _time_calls(run_call, steps, warmup)
    return {"first_s": first, "step_s": per_call, "samples_per_s": BATCH / per_call}


def _run(args, kind: str, schedule: str, threads: int = 0) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.estimator_step", f"--worker={kind}"]
    cmd += [f"--schedule={schedule}", f"--steps={args.steps}", f"--warmup={args.warmup}"]
    cmd += [f"--synth={args.synth}", f"--threads={threads}"]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)  # one CPU device, as a user's machine
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(_RESULT)]
    if done.returncode or not lines:
        raise RuntimeError(f"{kind}/{schedule} failed:\n{done.stderr[-2000:]}")
    return json.loads(lines[-1][len(_RESULT) :])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--synth", default="dexed")
    parser.add_argument(
        "--before_after",
        action="store_true",
        help="instead: the JAX step with plain vs fast convolutions, alternating in one process",
    )
    parser.add_argument("--schedule", default="switch", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "jax":
        result = jax_worker(args.schedule, args.steps, args.warmup, args.synth)
        print(_RESULT + json.dumps(result))
        return
    if args.worker == "before_after":
        result = before_after_worker(args.schedule, args.steps, args.synth)
        print(_RESULT + json.dumps(result))
        return
    if args.worker == "torch":
        threads = args.threads or len(os.sched_getaffinity(0))
        result = torch_worker(args.schedule, args.steps, args.warmup, args.synth, threads)
        print(_RESULT + json.dumps(result))
        return
    print("uptime:", os.popen("uptime").read().strip())
    if args.before_after:
        _before_after(args)
        return
    # Alternating rounds, both frameworks on the same cores (torch one thread per core, XLA's
    # pool on the same cores); the median round of each is kept.
    rounds: dict[tuple[str, str], list[dict]] = {}
    for _ in range(args.repeats):
        for schedule in ("switch", "ploss"):
            for kind in ("torch", "jax"):
                rounds.setdefault((kind, schedule), []).append(_run(args, kind, schedule))
    best = {key: _median(runs) for key, runs in rounds.items()}
    print(f"batch {BATCH}, log-mel 128 x {FRAMES}, proxy TFM (D = {EMB}), layout {args.synth}")
    print("| step | PyTorch samples/s | JAX samples/s | JAX / PyTorch |")
    print("|---|---|---|---|")
    for schedule, label in (("switch", "with the proxy (Switch)"), ("ploss", "without (PLoss)")):
        t, j = best[("torch", schedule)], best[("jax", schedule)]
        ratio = j["samples_per_s"] / t["samples_per_s"]
        print(f"| {label} | {t['samples_per_s']:.1f} | {j['samples_per_s']:.1f} | {ratio:.2f}x |")
    for kind in ("torch", "jax"):
        with_proxy, without = best[(kind, "switch")]["step_s"], best[(kind, "ploss")]["step_s"]
        share = max(0.0, 1.0 - without / with_proxy)
        print(f"{kind}: proxy share of the step {100 * share:.0f}% "
              f"({with_proxy * 1e3:.0f} ms with, {without * 1e3:.0f} ms without)")  # fmt: skip
    print("uptime:", os.popen("uptime").read().strip())


def _before_after(args) -> None:
    print(f"JAX step ms, plain lax convolutions vs models.strided_conv, median of {args.steps}")
    print("| step | plain convs | now | speed-up |")
    print("|---|---|---|---|")
    for schedule, label in (("switch", "with the proxy (Switch)"), ("ploss", "without (PLoss)")):
        r = _run(args, "before_after", schedule)
        print(f"| {label} | {r['plain'] * 1e3:.0f} | {r['new'] * 1e3:.0f} | "
              f"{r['plain'] / r['new']:.2f}x |")  # fmt: skip
    print("uptime:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
