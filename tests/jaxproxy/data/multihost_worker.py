"""Test helper run as one of two JAX processes: records which examples its devices receive.

python -m tests.jaxproxy.data.multihost_worker PROCESS_ID PORT DATASET_DIR OUT_JSON
"""

import json
import sys

import jax
import numpy as np

MODES = [
    ("stream", "auto"),
    ("device", "replicated"),
    ("device", "sharded"),
]


def main(process_id: int, port: str, folder: str, out: str) -> None:
    jax.config.update("jax_num_cpu_devices", 2)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(f"localhost:{port}", num_processes=2, process_id=process_id)
    from jaxproxy import sharding
    from jaxproxy.data import make_train_iterator, open_dataset

    ds = open_dataset(folder)
    mesh = sharding.make_mesh()
    seen = {}
    for mode, placement in MODES:
        it = make_train_iterator(
            ds,
            mesh=mesh,
            global_batch=16,
            seed=3,
            mode=mode,
            placement=placement,
            features=("params", "index"),
        )
        steps = []
        for _ in range(2 * it.steps_per_epoch):
            shards = next(it)["index"].addressable_shards
            steps.append(sorted(int(v) for s in shards for v in np.asarray(s.data)))
        seen[f"{mode}-{placement}"] = {"steps_per_epoch": it.steps_per_epoch, "steps": steps}
    with open(out, "w") as f:
        json.dump({"devices": jax.device_count(), "seen": seen}, f)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
