"""Proxy training: a preset encoder regressing precomputed audio embeddings (L1, AdamW, wcrc).

`train_and_evaluate(config, workdir)` runs the whole loop: a 1-D "data" mesh, the encoder split
once into a pure jitted step (parameters replicated, batches sharded, state donated), validation
L1 and MRR twice per epoch, orbax checkpoints (latest + best MRR + best L1) that resume at the
exact next batch, TensorBoard scalars and steps/s with ETA.
"""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import ml_collections
from absl import logging
from flax import nnx

from jaxproxy import data, metrics, models, schedules, sharding
from jaxproxy.checkpointing import Checkpointer
from jaxproxy.trainers import loop, proxy_step
from jaxproxy.trainers.progress import Progress
from jaxproxy.trainers.workdir import claims_workdir

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


def lr_scale(state: proxy_step.TrainState) -> float:
    """The LR plateau's current factor (1 without a plateau)."""
    plateau = schedules.find_plateau(state.opt_state)
    return 1.0 if plateau is None else float(plateau.scale)


def epoch_plateau(config, steps_per_epoch: int, eval_every: int, mesh):
    """`after_validation`: one ReduceLROnPlateau step on the validation L1 at the validation
    whose interval holds an epoch's end (the reference steps it per epoch with the latest
    val/loss, validating twice per epoch); a function of the step, so resume stays exact."""
    replicated = sharding.replicated(mesh)

    def after_validation(state, metrics):
        if not loop.crossed(int(state.step), eval_every, steps_per_epoch):
            return state
        plateau = schedules.plateau_update(
            jax.device_get(schedules.find_plateau(state.opt_state)),
            metrics["l1"],
            factor=config.plateau_factor,
            patience=config.plateau_patience,
        )
        plateau = jax.device_put(plateau, replicated)
        return state.replace(opt_state=schedules.replace_plateau(state.opt_state, plateau))

    return after_validation


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


@claims_workdir
def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Trains the config's proxy in `workdir`, resuming from its latest checkpoint if any.

    Returns the last validation metrics ({"l1", "mrr"}) plus the final training "step".
    """
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
    state = loop.restore(ckpt, state, train_iter)
    step = int(state.step)

    encode = proxy_step.jit_encode(proxy_step.make_encode(model_def), mesh)
    validate = Validator(val_ds, config, mesh, encode)
    train_fn = proxy_step.make_train_step(model_def, tx)
    progress = Progress(
        os.path.join(workdir, "tensorboard"), total_steps, step, config.batch_size,
        hparams=config.to_dict(), curves_png=os.path.join(workdir, CURVES_FILE),
    )  # fmt: skip
    logging.info(
        "training steps %d..%d (%d steps/epoch, eval every %d)",
        step,
        total_steps,
        steps_per_epoch,
        eval_every,
    )
    cadence = loop.Cadence.from_config(config, total_steps, eval_every)
    after_validation = None
    if proxy_step.uses_plateau(config):
        after_validation = epoch_plateau(config, steps_per_epoch, eval_every, mesh)
    state, val_metrics = loop.run(
        state,
        train_iter=train_iter,
        jit_step=lambda state, k: proxy_step.jit_train_step(train_fn, mesh, state, k),
        cadence=cadence,
        validate=validate,
        ckpt=ckpt,
        progress=progress,
        lr_at=lambda state, step: schedule(step) * lr_scale(state),
        after_validation=after_validation,
    )
    step = int(state.step)
    return dict(val_metrics, step=step)
