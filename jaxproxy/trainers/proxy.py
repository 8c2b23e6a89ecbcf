"""Proxy training: a preset encoder regressing precomputed audio embeddings (L1, AdamW, wcrc).

`train_and_evaluate(config, workdir)` runs the whole loop: a 1-D "data" mesh, the encoder split
once into a pure jitted step (parameters replicated, batches sharded, state donated), validation
L1 and MRR twice per epoch, orbax checkpoints (latest + best MRR + best L1) that resume at the
exact next batch, TensorBoard scalars and steps/s with ETA.
"""

from __future__ import annotations

import json
import os
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging
from flax import nnx

from jaxproxy import data, metrics, models, sharding
from jaxproxy.checkpointing import Checkpointer, abstract_like
from jaxproxy.trainers import proxy_step
from jaxproxy.trainers.progress import Progress

# Run files in the workdir (export reads them): resolved config, synth spec, dataset facts.
CONFIG_FILE, SPEC_FILE, DATA_FILE = "config.json", "synth_spec.json", "data.json"
CURVES_FILE = "curves.png"  # train loss / lr, validation L1 / MRR (+ curves.json, the points)


def build_model(config: ml_collections.ConfigDict, layout: models.PresetLayout, out_dim: int):
    """The config's encoder (compute dtype applied), freshly initialised from config.seed."""
    overrides = dict(config.encoder_kwargs)
    if config.compute_dtype != "float32":
        overrides.setdefault("dtype", jnp.dtype(config.compute_dtype))
    return models.build_encoder(
        config.encoder, layout, out_dim, rngs=nnx.Rngs(config.seed), **overrides
    )


def _open_datasets(config: ml_collections.ConfigDict):
    expect = dict(expect_synth=config.synth, expect_audio_model=config.audio_model)
    train_ds = data.open_dataset(config.train_data, **expect)
    val_ds = data.open_dataset(
        config.val_data,
        expect_synth_fingerprint=train_ds.synth_fingerprint,
        expect_embedding_dim=train_ds.embedding_dim,
        **expect,
    )
    return train_ds, val_ds


def _write_run_files(workdir: str, config: ml_collections.ConfigDict, train_ds) -> None:
    if jax.process_index() != 0:
        return
    data_facts = {
        "embedding_dim": train_ds.embedding_dim,
        "num_params": train_ds.num_params,
        "audio_model": train_ds.audio_model,
        "synth_fingerprint": train_ds.synth_fingerprint,
        "train_data": os.path.abspath(config.train_data),
    }
    files = {
        CONFIG_FILE: config.to_dict(),
        SPEC_FILE: train_ds.synth_spec_json,
        DATA_FILE: data_facts,
    }
    for name, payload in files.items():
        tmp = os.path.join(workdir, name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(payload, f, indent=2, default=str)
        os.replace(tmp, os.path.join(workdir, name))


def check_sizes(config: ml_collections.ConfigDict, num_train: int, num_val: int) -> None:
    """Raises ValueError naming the knob when `config` cannot train on sets of these sizes.

    Cheap and data-free, so launchers (the quick start) can run it before rendering anything:
    a whole training batch, a validation set big enough for MRR with `val_num_ranks`, and
    schedule phases that fit the epochs (the trainer checks the same when it starts).
    """
    steps_per_epoch = num_train // config.batch_size
    if steps_per_epoch < 1:
        raise ValueError(
            f"{num_train} training examples give no full batch of batch_size={config.batch_size}"
        )
    used = data.num_eval_batches(num_val, config.eval_batch_size) * config.eval_batch_size
    if used < 2 * config.val_num_ranks:  # drop_last, as the reference
        raise ValueError(
            f"{num_val} validation examples give {used} in whole batches of eval_batch_size="
            f"{config.eval_batch_size}, too few for MRR with val_num_ranks="
            f"{config.val_num_ranks} (need at least twice that)"
        )
    try:
        proxy_step.make_schedule(config, steps_per_epoch)
    except ValueError as e:
        raise ValueError(f"{e} (num_epochs={config.num_epochs}, {num_train} examples)") from None


class Validator:
    """Validation L1 and MRR (facts 6.6, 7.1) over the whole validation set, in file order."""

    def __init__(self, val_ds: data.ProxyDataset, config: ml_collections.ConfigDict, mesh, encode):
        self.arrays = val_ds.load_arrays((proxy_step.PRESETS, proxy_step.TARGETS))
        self.mesh, self.encode, self.config = mesh, encode, config

    def __call__(self, state: proxy_step.TrainState) -> dict[str, float]:
        embs, targets = [], []
        for batch in data.eval_batches(
            self.arrays, mesh=self.mesh, batch_size=self.config.eval_batch_size
        ):
            embs.append(self.encode(state.params, state.batch_stats, batch[proxy_step.PRESETS]))
            targets.append(batch[proxy_step.TARGETS])
        emb_NxE, target_NxE = jnp.concatenate(embs), jnp.concatenate(targets)
        l1 = jnp.mean(jnp.abs(emb_NxE - target_NxE))
        mrr = metrics.validation_mrr(emb_NxE, target_NxE, num_ranks=self.config.val_num_ranks)
        return {"l1": float(l1), "mrr": float(mrr)}


def make_train_iterator(train_ds: data.ProxyDataset, config, mesh) -> data.BatchIterator:
    """The config's resumable training iterator (a seam the resume test wraps)."""
    return data.make_train_iterator(
        train_ds,
        mesh=mesh,
        global_batch=config.batch_size,
        seed=config.shuffle_seed,
        mode=config.input_mode,
        num_workers=config.input_workers,
    )


def _crossed(step: int, k: int, every: int) -> bool:
    """True when the last k steps ended on or passed a multiple of `every`."""
    return every > 0 and step // every != (step - k) // every


def _check_finite(state: proxy_step.TrainState) -> None:
    bad = int(state.first_bad_step)
    if bad >= 0:
        raise FloatingPointError(
            f"non-finite training loss at step {bad} (0-based); stopping. Try a lower lr, "
            "compute_dtype=float32, or check the dataset for NaN/inf embeddings."
        )


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Trains the config's proxy in `workdir`, resuming from its latest checkpoint if any.

    Returns the last validation metrics ({"l1", "mrr"}) plus the final training "step".
    """
    if config.distributed:
        jax.distributed.initialize()
    workdir = os.path.abspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    mesh = sharding.make_mesh()
    train_ds, val_ds = _open_datasets(config)
    try:
        check_sizes(config, train_ds.num_examples, val_ds.num_examples)
    except ValueError as e:
        raise ValueError(
            f"train_data={config.train_data}, val_data={config.val_data}: {e}"
        ) from None
    _write_run_files(workdir, config, train_ds)

    model = build_model(config, train_ds.layout, train_ds.embedding_dim)
    logging.info(
        "encoder %s on %s: %s parameters; %d train / %d val examples; mesh %s",
        config.encoder,
        config.synth,
        f"{models.count_params(model):,}",
        train_ds.num_examples,
        val_ds.num_examples,
        dict(mesh.shape),
    )
    model_def, params, batch_stats = proxy_step.split_model(model)
    train_iter = make_train_iterator(train_ds, config, mesh)
    logging.info("input: %s", train_iter.mode)
    steps_per_epoch = train_iter.steps_per_epoch
    total_steps = config.num_train_steps
    if total_steps <= 0:
        total_steps = int(config.num_epochs * steps_per_epoch)
    eval_every = config.eval_every_steps
    if eval_every <= 0:
        eval_every = max(1, steps_per_epoch // config.evals_per_epoch)

    schedule = proxy_step.make_schedule(config, steps_per_epoch)
    tx = proxy_step.make_optimizer(config, schedule)
    state = jax.device_put(
        proxy_step.init_state(params, batch_stats, tx), sharding.replicated(mesh)
    )
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), config.max_checkpoints_to_keep)
    restored = ckpt.restore(abstract_like(state))
    if restored is not None:
        state, data_state, step = restored
        train_iter.set_state(data_state)
        logging.info("resumed from the checkpoint at step %d", step)
    step = int(state.step)

    encode = proxy_step.jit_encode(proxy_step.make_encode(model_def), mesh)
    validate = Validator(val_ds, config, mesh, encode)
    train_fn = proxy_step.make_train_step(model_def, tx)
    jitted = {}  # steps per call -> jitted step (a shorter last call compiles its own)
    progress = Progress(
        os.path.join(workdir, "tensorboard"), total_steps, step, config.batch_size,
        hparams=config.to_dict(), curves_png=os.path.join(workdir, CURVES_FILE),
    )  # fmt: skip
    pending: list[dict[str, jax.Array]] = []
    val_metrics: dict[str, float] = {}
    logging.info(
        "training steps %d..%d (%d steps/epoch, eval every %d)",
        step,
        total_steps,
        steps_per_epoch,
        eval_every,
    )
    try:
        while step < total_steps:
            k = min(config.steps_per_call, total_steps - step)
            batches = tuple(next(train_iter) for _ in range(k))
            if k not in jitted:
                logging.info("compiling the train step (%d step(s) per call)...", k)
                start = time.perf_counter()
                jitted[k] = proxy_step.jit_train_step(train_fn, mesh, state, k)
                state, step_metrics = jitted[k](state, batches)
                jax.block_until_ready(step_metrics)
                logging.info("compiled (and ran once) in %.1fs", time.perf_counter() - start)
                progress.restart_clock(step + k)
            else:
                state, step_metrics = jitted[k](state, batches)
            pending.append(step_metrics)
            step += k

            if _crossed(step, k, config.log_every_steps) or step == total_steps:
                _check_finite(state)
                fetched = jax.device_get(pending)
                pending = []
                means = {name: float(np.mean([m[name] for m in fetched])) for name in fetched[0]}
                means["lr"] = float(schedule(step - 1))
                progress.log_train(step, means)
            is_eval = _crossed(step, k, eval_every) or step == total_steps
            if is_eval:
                _check_finite(state)
                val_metrics = validate(state)
                logging.info("validation at step %d: %s", step, val_metrics)
                progress.write("val", step, val_metrics)
                ckpt.save_best(step, state, val_metrics)
            if is_eval or _crossed(step, k, config.checkpoint_every_steps):
                _check_finite(state)
                ckpt.save(step, state, train_iter.get_state())
            if is_eval:
                progress.restart_clock(step)  # steps/s measures training, not validation
    finally:  # an interrupted run still finishes the save in flight
        ckpt.wait()
        ckpt.close()
        progress.close()
    return dict(val_metrics, step=step)
