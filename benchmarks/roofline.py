"""Roofline of each encoder's train step, from XLA's cost and memory analysis of the compiled step.

    .venv/bin/python -m benchmarks.roofline                        # every encoder, paper batch
    .venv/bin/python -m benchmarks.roofline --encoders=tfm --no-time --json=out.json

For each encoder at the paper's batch (512, TFM 256; Dexed layout, D = 192) the one-step train
program (forward, L1 loss, backward, AdamW) is compiled for one device and its cost analysis
gives FLOPs and bytes accessed per step. On this CPU the step is timed (median of --repeats after
a warm-up) and its achieved FLOP/s compared with a measured peak (a large jitted matmul). For
named accelerators the step time is projected as max(FLOPs / peak, bytes / HBM bandwidth), in
float32 and bfloat16 compute (bytes from the bf16 program's own analysis), and from it the time
of the paper's 30 epochs on 10.24 M examples. The memory plan (state, temporaries, temporaries
per example) comes from the compiled memory analysis; the device-resident training set is
10.24 M x (preset + embedding) float32, and the script says how many devices it needs.

Caveats. XLA counts a while loop's body once, so the GRU's time scan (T = one step per preset
parameter, forward and backward) is corrected: with c(u) the cost of the program whose scan
body holds u time steps (`gru_unroll=u`), a step costs c(1) + (T - 1) (c(2) - c(1)); unrolling
all T steps instead takes minutes to compile and fuses worse. Bytes accessed are the CPU
program's (its fusion decisions); a GPU/TPU program fuses differently, so memory-bound
projections are upper bounds on time. The projections ignore dispatch and the data path
(device-resident input has none).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import step_setup

ENCODERS = ("mlp_oh", "hn_oh", "hn_pt", "hn_ptgru", "tfm")

# Peak dense FLOP/s and HBM bandwidth (bytes/s) and capacity (bytes), from the vendors' pages:
# - H100 SXM5: NVIDIA H100 Tensor Core GPU datasheet (nvidia.com/en-us/data-center/h100): BF16
#   tensor 989 TFLOP/s dense (1,979 with sparsity), FP32 67 TFLOP/s (TF32 tensor 495 dense,
#   which XLA uses for f32 matmuls only when allowed), HBM3 3.35 TB/s, 80 GB.
# - H200 SXM: NVIDIA H200 datasheet (nvidia.com/en-us/data-center/h200): the same compute as
#   H100 SXM, HBM3e 4.8 TB/s, 141 GB.
# - TPU v5e: Google Cloud TPU v5e docs (cloud.google.com/tpu/docs/v5e): 197 TFLOP/s bf16,
#   HBM2 819 GB/s, 16 GB per chip. No f32 peak is published: the MXU multiplies in bf16, and
#   JAX's default matmul precision on TPU runs f32 matmuls as one bf16 pass, so f32 compute is
#   projected at the bf16 peak (with precision=HIGHEST it would be about 6x slower).
ACCELERATORS = {
    "H100": {"bf16": 989e12, "fp32": 67e12, "hbm_bw": 3.35e12, "hbm": 80e9},
    "H200": {"bf16": 989e12, "fp32": 67e12, "hbm_bw": 4.8e12, "hbm": 141e9},
    "TPU v5e": {"bf16": 197e12, "fp32": 197e12, "hbm_bw": 819e9, "hbm": 16e9},
}

# Host input rates measured on a 2-core CPU (docs/benchmarks.md, "Input pipeline";
# python -m benchmarks.train_step, batch 512): host memory about 1.2 M examples/s, grain over
# ArrayRecord about 68 k/s. A step that needs more than a host path gives must keep the
# training set on the devices (input_mode=device).
HOST_MEMORY_RATE = 1.2e6
ARRAY_RECORD_RATE = 6.8e4


def _parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoders", default=",".join(ENCODERS))
    parser.add_argument("--synth", default="dexed")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps on this CPU")
    parser.add_argument("--time", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--json", default=None, help="also write the figures here")
    return parser.parse_args(argv)


def _cost(compiled) -> dict[str, float]:
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return {"flops": float(cost["flops"]), "bytes": float(cost["bytes accessed"])}


def measured_matmul_peak(n: int = 4096, repeats: int = 5) -> float:
    """FLOP/s of a jitted float32 n x n matmul on the default device (best of `repeats`)."""
    x = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    matmul = jax.jit(lambda a, b: a @ b)
    matmul(x, x).block_until_ready()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(x, x).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def compiled_step(
    encoder: str,
    synth: str,
    compute_dtype: str,
    gru_unroll: int = 1,
    batch: int | None = None,
    smoke: bool = False,
):
    """(setup, compiled one-step program on one device, two calls' arguments)."""
    from jaxproxy import sharding

    kwargs = {"gru_unroll": gru_unroll} if encoder == "hn_ptgru" else None
    mesh = sharding.make_mesh(jax.devices()[:1])
    setup = step_setup.build_step(
        encoder,
        synth=synth,
        mesh=mesh,
        compute_dtype=compute_dtype,
        encoder_kwargs=kwargs,
        smoke=smoke,
    )
    batch = step_setup.paper_batch(encoder) if batch is None else batch
    calls = step_setup.placed_calls(setup, batch, 2)
    return setup, setup.step.lower(setup.state, calls[0]).compile(), calls


def step_cost(
    encoder: str, synth: str, compute_dtype: str, batch: int | None = None, smoke: bool = False
):
    """(setup, compiled program, calls, {"flops", "bytes"} per step, loop-corrected)."""
    setup, compiled, calls = compiled_step(encoder, synth, compute_dtype, 1, batch, smoke)
    cost = _cost(compiled)
    if encoder == "hn_ptgru":
        time_steps = setup.layout.n_used
        if time_steps % 2:
            raise ValueError(f"the GRU correction needs an even sequence length, got {time_steps}")
        two = _cost(compiled_step(encoder, synth, compute_dtype, 2, batch, smoke)[1])
        cost = {k: cost[k] + (time_steps - 1) * (two[k] - cost[k]) for k in cost}
    return setup, compiled, calls, cost


def time_step(setup, calls, repeats: int) -> float:
    """Median seconds per step after one warm-up step."""
    state = setup.state
    state, metrics = setup.step(state, calls[0])
    jax.block_until_ready(metrics)
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        state, metrics = setup.step(state, calls[(i + 1) % len(calls)])
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def project(flops: float, nbytes: float, peak: float, bandwidth: float) -> tuple[float, str]:
    """(seconds per step, "compute" or "memory") on the roofline."""
    t_compute, t_memory = flops / peak, nbytes / bandwidth
    return max(t_compute, t_memory), "compute" if t_compute >= t_memory else "memory"


def analyse(encoder: str, args: argparse.Namespace, cpu_peak: float) -> dict:
    batch = step_setup.paper_batch(encoder)
    setup, compiled, calls, f32 = step_cost(encoder, args.synth, "float32")
    memory = compiled.memory_analysis()
    row = {
        "encoder": encoder,
        "batch": batch,
        "params": int(sum(x.size for x in jax.tree.leaves(setup.state.params))),
        "preset_dim": int(setup.layout.n_used),
        "flops": f32["flops"],
        "bytes": f32["bytes"],
        "intensity": f32["flops"] / f32["bytes"],
        "state_bytes": int(memory.argument_size_in_bytes),
        "temp_bytes": int(memory.temp_size_in_bytes),
    }
    row["temp_bytes_per_example"] = row["temp_bytes"] / batch
    if args.time:
        step_s = time_step(setup, calls, args.repeats)
        row["cpu_step_s"] = step_s
        row["cpu_flops_per_s"] = f32["flops"] / step_s
        row["cpu_fraction_of_peak"] = row["cpu_flops_per_s"] / cpu_peak
    bf16 = step_cost(encoder, args.synth, "bfloat16")[3]
    row["bf16_flops"], row["bf16_bytes"] = bf16["flops"], bf16["bytes"]
    steps = step_setup.PAPER_EPOCHS * step_setup.PAPER_TRAIN_EXAMPLES / batch
    row["accelerators"] = {}
    for name, acc in ACCELERATORS.items():
        out = {}
        for dtype, cost in (("fp32", f32), ("bf16", bf16)):
            step_s, bound = project(cost["flops"], cost["bytes"], acc[dtype], acc["hbm_bw"])
            out[dtype] = {
                "step_s": step_s,
                "bound": bound,
                "hours_30_epochs": step_s * steps / 3600,
                "examples_per_s": batch / step_s,
            }
        row["accelerators"][name] = out
    return row


def dataset_plan(preset_dim: int, state_bytes: int, temp_bytes: int) -> dict[str, dict]:
    """Per accelerator: the device-resident training set's size and the devices it needs."""
    data_bytes = step_setup.PAPER_TRAIN_EXAMPLES * (preset_dim + step_setup.OUT_DIM) * 4
    plan = {}
    for name, acc in ACCELERATORS.items():
        free = acc["hbm"] - state_bytes - temp_bytes
        devices = 1 if data_bytes <= free else 2 ** math.ceil(math.log2(data_bytes / free))
        plan[name] = {
            "data_bytes": data_bytes,
            "devices": devices,
            "per_device": data_bytes / devices,
        }
    return plan


def input_path(examples_per_s: float) -> str:
    if examples_per_s > HOST_MEMORY_RATE:
        return "device"
    if examples_per_s > ARRAY_RECORD_RATE:
        return "device or memory"
    return "any"


def _print(rows: list[dict], cpu_peak: float) -> None:
    gb = 1e9
    print(f"\nCPU matmul peak: {cpu_peak / 1e9:.0f} GFLOP/s (jitted 4096^2 float32 matmul)")
    print(
        "\n| encoder | batch | GFLOP/step | GB/step | FLOP/B | CPU step (s) | CPU GFLOP/s | "
        "of peak | state MB | temp MB | temp MB/example |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cpu = (
            f"{r['cpu_step_s']:.3f} | {r['cpu_flops_per_s'] / 1e9:.0f} | "
            f"{r['cpu_fraction_of_peak']:.0%}"
            if "cpu_step_s" in r
            else "- | - | -"
        )
        print(
            f"| {r['encoder']} | {r['batch']} | {r['flops'] / gb:.1f} | {r['bytes'] / gb:.2f} | "
            f"{r['intensity']:.0f} | {cpu} | {r['state_bytes'] / 1e6:.0f} | "
            f"{r['temp_bytes'] / 1e6:.0f} | {r['temp_bytes_per_example'] / 1e6:.2f} |"
        )
    print(
        "\nProjected step (ms), bound, 30 epochs on 10.24 M examples (h), "
        "and the input path the rate needs:"
    )
    print(
        "\n| encoder | device | fp32 step | fp32 bound | fp32 30 ep (h) | bf16 step | "
        "bf16 bound | bf16 30 ep (h) | bf16 examples/s | input |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        for name, acc in r["accelerators"].items():
            f, b = acc["fp32"], acc["bf16"]
            print(
                f"| {r['encoder']} | {name} | {f['step_s'] * 1e3:.2f} | {f['bound']} | "
                f"{f['hours_30_epochs']:.2f} | {b['step_s'] * 1e3:.2f} | {b['bound']} | "
                f"{b['hours_30_epochs']:.2f} | {b['examples_per_s']:,.0f} | "
                f"{input_path(b['examples_per_s'])} |"
            )
    worst = max(rows, key=lambda r: r["temp_bytes"])
    plan = dataset_plan(worst["preset_dim"], worst["state_bytes"], worst["temp_bytes"])
    print("\nDevice-resident training set (10.24 M x (preset + 192) float32), next to the")
    print(f"largest step's state + temporaries ({worst['encoder']}):")
    for name, p in plan.items():
        print(
            f"  {name:<8} {p['data_bytes'] / gb:.1f} GB -> {p['devices']} device(s), "
            f"{p['per_device'] / gb:.1f} GB each (HBM {ACCELERATORS[name]['hbm'] / gb:.0f} GB)"
        )


def main(argv=None) -> None:
    args = _parse(argv)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print("load before:", load)
    cpu_peak = measured_matmul_peak()
    rows = [analyse(encoder, args, cpu_peak) for encoder in args.encoders.split(",")]
    _print(rows, cpu_peak)
    print("load after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu_peak_flops": cpu_peak, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
