"""Input pipeline throughput (examples/s): bulk loading, device-resident and streaming batches.

    .venv/bin/python -m benchmarks.input_pipeline    # 100k x (f32[100], f32[192]), batch 512
    .venv/bin/python -m benchmarks.input_pipeline --num_examples=1000000 --dir=/tmp/bench1m
    .venv/bin/python -m benchmarks.input_pipeline --cpu_devices=8 --num_examples=20000

Writes the dataset (ArrayRecord + TFRecord, 8 shards each, with data_gen's writer) to a temporary
folder unless --dir names one already written. Times the bulk load of the whole set into host
arrays (what the device-resident path does), then batches of --batch for each training path,
blocking on every batch (an upper bound on what the training loop waits for). Compare ratios
within one run: absolute figures on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num_examples", type=int, default=100_000)
    parser.add_argument("--num_params", type=int, default=100)
    parser.add_argument("--embedding_dim", type=int, default=192)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--max_batches", type=int, default=195, help="timed batches per mode")
    parser.add_argument("--cpu_devices", type=int, default=1, help="fake CPU devices (CPU only)")
    parser.add_argument("--dir", default=None, help="reuse (or create) the dataset here")
    parser.add_argument("--workers", type=int, default=2, help="grain worker processes")
    parser.add_argument("--skip_device", action="store_true", help="only bulk load and stream")
    return parser.parse_args()


def _write(folder: str, args: argparse.Namespace) -> None:
    from tests.jaxproxy.fake_data import write_fake_dataset

    start = time.perf_counter()
    write_fake_dataset(
        folder,
        num_examples=args.num_examples,
        num_params=args.num_params,
        embedding_dim=args.embedding_dim,
        num_shards=8,
    )
    print(f"wrote {args.num_examples} examples in {time.perf_counter() - start:.1f}s to {folder}")


def _time_mode(dataset, mesh, args, label: str, batches: int, **kwargs) -> float:
    import jax

    from jaxproxy.data import make_train_iterator

    start = time.perf_counter()
    it = make_train_iterator(dataset, mesh=mesh, global_batch=args.batch, seed=0, **kwargs)
    jax.block_until_ready(next(it))  # first batch: compilation, worker start-up, bulk load
    setup = time.perf_counter() - start
    batches = min(batches, it.steps_per_epoch - 1)
    start = time.perf_counter()
    for _ in range(batches):
        jax.block_until_ready(next(it))
    rate = batches * args.batch / (time.perf_counter() - start)
    print(f"{label:<28} {rate:>12,.0f} {setup:>9.2f}")
    return rate


def main() -> None:
    args = _parse()
    import jax

    jax.config.update("jax_num_cpu_devices", args.cpu_devices)
    from jaxproxy import sharding
    from jaxproxy.data import open_dataset

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or os.path.join(tmp, "bench")
        if not os.path.isfile(os.path.join(folder, "dataset_info.json")):
            _write(folder, args)
        dataset = open_dataset(folder)
        mesh = sharding.make_mesh()
        print(
            f"{dataset.num_examples} examples, params f32[{dataset.num_params}] + embedding "
            f"f32[{dataset.embedding_dim}], batch {args.batch}, {jax.device_count()} "
            f"{jax.default_backend()} device(s)"
        )
        start = time.perf_counter()
        dataset.load_arrays()
        seconds = time.perf_counter() - start
        print(f"{'bulk load (host arrays)':<28} {dataset.num_examples / seconds:>12,.0f} {0:>9.2f}")
        print(f"{'mode':<28} {'examples/s':>12} {'setup s':>9}")
        n = args.max_batches
        if not args.skip_device:
            _time_mode(
                dataset, mesh, args, "device (replicated)", n, mode="device", placement="replicated"
            )
            _time_mode(
                dataset, mesh, args, "device (sharded)", n, mode="device", placement="sharded"
            )
        _time_mode(dataset, mesh, args, "stream (grain, TFDS source)", n, mode="stream")
        _time_mode(
            dataset, mesh, args, f"stream ({args.workers} procs)", n, mode="stream",
            num_workers=args.workers,
        )  # fmt: skip


if __name__ == "__main__":
    main()
