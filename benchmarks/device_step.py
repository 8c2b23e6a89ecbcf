"""Train-step throughput on whatever devices JAX sees (CPU, one GPU, several, a TPU slice).

    .venv/bin/python -m benchmarks.device_step --encoder=tfm                 # paper batch, fp32
    .venv/bin/python -m benchmarks.device_step --encoder=hn_ptgru --compute_dtype=bfloat16
    XLA_FLAGS=--xla_force_host_platform_device_count=8 .venv/bin/python -m benchmarks.device_step \
        --encoder=mlp_oh --smoke --batch=64 --num_examples=4096 --steps=4   # 8 host devices

The training set (synthetic presets + targets, --num_examples rows) lives on the devices,
sharded over the 1-D "data" mesh (`DeviceResidentIterator`, the trainer's `input_mode=device`),
and each step gathers its batch there. The step is the trainer's own (replicated parameters,
batch split over the mesh, donated state, `steps_per_call` steps per jit call). Prints
samples/s, model-FLOP utilisation (FLOPs of one step from XLA's cost analysis of the
single-device program, over the step time and the devices' peak), and peak device memory;
then checks that one data-parallel step gives the single-device result on the same global
batch (same loss, parameters within a twentieth of the learning rate: Adam's first step moves
every parameter by about +-lr, and cross-device gradient sums round differently).
"""

from __future__ import annotations

import argparse
import subprocess
import time

import jax
import numpy as np

from benchmarks import roofline, step_setup


def _parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", default="tfm", choices=roofline.ENCODERS)
    parser.add_argument("--synth", default="dexed")
    parser.add_argument("--batch", type=int, default=None, help="global batch; default: paper's")
    parser.add_argument("--num_examples", type=int, default=262_144, help="device-resident rows")
    parser.add_argument("--compute_dtype", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument("--steps_per_call", type=int, default=1)
    parser.add_argument("--steps", type=int, default=8, help="timed jit calls")
    parser.add_argument("--smoke", action="store_true", help="the config's tiny encoder")
    parser.add_argument(
        "--peak_flops", type=float, default=None, help="per device; default: known or measured"
    )
    parser.add_argument("--check", action=argparse.BooleanOptionalAction, default=True)
    return parser.parse_args(argv)


def synthetic_rows(layout):
    """`load(start, stop)` for `place_rows`: random presets and targets seeded by `start`."""

    def load(start: int, stop: int) -> dict[str, np.ndarray]:
        presets, targets = step_setup.random_batches(layout, stop - start, 1, seed=start)[0]
        return {"params": presets, "embedding": targets}

    return load


def device_peak_flops(compute_dtype: str) -> tuple[float, str]:
    """(peak FLOP/s of one device, where the figure comes from)."""
    kind = jax.devices()[0].device_kind
    key = "bf16" if compute_dtype == "bfloat16" else "fp32"
    for name, acc in roofline.ACCELERATORS.items():
        if name.split()[-1].lower() in kind.lower().replace(" lite", "e"):
            return acc[key], f"{name} {key} datasheet"
    if jax.default_backend() == "cpu":
        per_device = roofline.measured_matmul_peak(2048) / len(jax.devices())
        return per_device, "measured float32 matmul, split over the host devices"
    raise SystemExit(f"unknown device {kind!r}: pass --peak_flops (FLOP/s of one device)")


def peak_memory(compiled) -> tuple[int, str]:
    """(peak bytes on device 0, source): the allocator's figure, else the compiled plan."""
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        return int(stats["peak_bytes_in_use"]), "allocator peak"
    m = compiled.memory_analysis()
    plan = m.argument_size_in_bytes + m.output_size_in_bytes - m.alias_size_in_bytes
    return int(plan + m.temp_size_in_bytes), "compiled plan (no allocator stats)"


def check_data_parallel(args: argparse.Namespace, batch: int, global_batch: dict) -> str:
    """One step on the whole mesh and one on a single device, same state and global batch."""
    from jaxproxy import sharding

    host_batch = {k: np.asarray(v) for k, v in global_batch.items()}
    results = []
    for devices in (jax.devices(), jax.devices()[:1]):
        mesh = sharding.make_mesh(devices)
        setup = step_setup.build_step(
            args.encoder,
            synth=args.synth,
            mesh=mesh,
            compute_dtype=args.compute_dtype,
            smoke=args.smoke,
        )
        placed = jax.device_put(host_batch, sharding.batch_sharding(mesh))
        state, metrics = setup.step(setup.state, (placed,))
        results.append((jax.device_get(state.params), float(metrics["loss"])))
    (dp_params, dp_loss), (one_params, one_loss) = results
    lr = step_setup.config_for(args.encoder, args.synth).lr
    diff = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(jax.tree.leaves(dp_params), jax.tree.leaves(one_params), strict=True)
    )
    ok = np.isclose(dp_loss, one_loss, rtol=1e-5, atol=1e-7) and diff <= lr / 20
    verdict = "OK" if ok else "MISMATCH"
    message = (
        f"data-parallel ({len(jax.devices())} devices) vs single device, global batch {batch}: "
        f"loss {dp_loss:.7g} vs {one_loss:.7g}, max |param diff| {diff:.3g} (lr {lr:g}): {verdict}"
    )
    if not ok:
        raise SystemExit(message)
    return message


def run(args: argparse.Namespace) -> dict:
    from jaxproxy import sharding
    from jaxproxy.data.device import DeviceResidentIterator

    devices = jax.devices()
    mesh = sharding.make_mesh(devices)
    batch = args.batch or step_setup.paper_batch(args.encoder)
    sharding.check_batch_divides(batch, mesh)
    setup = step_setup.build_step(
        args.encoder,
        synth=args.synth,
        mesh=mesh,
        steps_per_call=args.steps_per_call,
        compute_dtype=args.compute_dtype,
        smoke=args.smoke,
    )
    layout = setup.layout
    shapes = {
        "params": ((layout.n_used,), np.float32),
        "embedding": ((step_setup.OUT_DIM,), np.float32),
    }
    start = time.perf_counter()
    data = DeviceResidentIterator(
        synthetic_rows(layout),
        shapes,
        num_examples=args.num_examples,
        mesh=mesh,
        global_batch=batch,
        seed=0,
    )
    print(
        f"{len(devices)} x {devices[0].device_kind} ({jax.default_backend()}); "
        f"{args.num_examples:,} rows placed in {time.perf_counter() - start:.1f}s; "
        f"{args.encoder}, global batch {batch}, {args.compute_dtype}, "
        f"{args.steps_per_call} step(s) per call"
    )
    first = next(data)
    k = args.steps_per_call

    def next_call():
        return tuple(next(data) for _ in range(k))

    start = time.perf_counter()
    compiled = setup.step.lower(setup.state, next_call()).compile()
    print(f"compiled in {time.perf_counter() - start:.1f}s")
    state, metrics = compiled(setup.state, next_call())  # warm-up
    jax.block_until_ready(metrics)
    start = time.perf_counter()
    for _ in range(args.steps):
        state, metrics = compiled(state, next_call())
    jax.block_until_ready(metrics)
    step_s = (time.perf_counter() - start) / (args.steps * k)

    flops = roofline.step_cost(
        args.encoder, args.synth, args.compute_dtype, batch=batch, smoke=args.smoke
    )[3]["flops"]
    peak, peak_source = (
        (args.peak_flops, "--peak_flops")
        if args.peak_flops
        else device_peak_flops(args.compute_dtype)
    )
    memory, memory_source = peak_memory(compiled)
    result = {
        "samples_per_s": batch / step_s,
        "step_s": step_s,
        "flops_per_step": flops,
        "mfu": flops / step_s / (peak * len(devices)),
        "peak_memory_bytes": memory,
    }
    print(
        f"{result['samples_per_s']:,.0f} samples/s ({step_s * 1e3:.2f} ms/step), "
        f"{flops / 1e9:.2f} GFLOP/step, MFU {result['mfu']:.1%} of {len(devices)} x "
        f"{peak / 1e12:.3g} TFLOP/s ({peak_source}); peak memory on device 0: "
        f"{memory / 1e6:,.1f} MB ({memory_source})"
    )
    if args.check:
        print(check_data_parallel(args, batch, first))
    return result


def main(argv=None) -> dict:
    args = _parse(argv)
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return run(args)


if __name__ == "__main__":
    main()
