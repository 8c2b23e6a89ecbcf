"""Proxy training: a preset encoder regressing precomputed audio embeddings (L1, AdamW, wcrc).

`train_and_evaluate(config, workdir)` runs `ProxyTask` in the trainers' one skeleton
(`runner.train`): a 1-D "data" mesh, the encoder split once into a pure jitted step (parameters
replicated, batches sharded, state donated), validation L1 and MRR twice per epoch, orbax
checkpoints (latest + best MRR + best L1) that resume at the exact next batch, TensorBoard
scalars and steps/s with ETA.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import ml_collections

from jaxproxy import data, metrics, models, schedules, sharding
from jaxproxy.checkpointing import Checkpointer
from jaxproxy.models.functional import ModelDef, make_encode
from jaxproxy.train_state import (
    TrainState,
    init_state,
    make_schedule,
    proxy_optimizer,
    uses_plateau,
)
from jaxproxy.trainers import loop, proxy_step, runner
from jaxproxy.trainers.progress import Progress
from jaxproxy.trainers.workdir import claims_workdir


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
        make_schedule(config, steps_per_epoch)
    except ValueError as e:
        raise ValueError(f"{e} (num_epochs={config.num_epochs}, {num_train} examples)") from None


class Validator:
    """Validation L1 and MRR (facts 6.6, 7.1) over the whole validation set, in file order."""

    def __init__(self, val_ds: data.ProxyDataset, config: ml_collections.ConfigDict, mesh, encode):
        self.arrays = val_ds.load_arrays((proxy_step.PRESETS, proxy_step.TARGETS))
        self.mesh, self.encode, self.config = mesh, encode, config

    def __call__(self, state: TrainState) -> dict[str, float]:
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


def lr_scale(state: TrainState) -> float:
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


class ProxyTask(runner.Task):
    """Proxy training: the config's datasets, encoder, AdamW (wcrc or plateau) and L1/MRR;
    the default best checkpoints (MRR, L1) and curves."""

    def __init__(self, config: ml_collections.ConfigDict):
        self.config = config

    def prepare(self, mesh) -> runner.Run:
        config, self.mesh = self.config, mesh
        train_ds, self.val_ds = _open_datasets(config)
        try:
            check_sizes(config, train_ds.num_examples, self.val_ds.num_examples)
        except ValueError as e:
            raise ValueError(
                f"train_data={config.train_data}, val_data={config.val_data}: {e}"
            ) from None
        facts = {
            "embedding_dim": train_ds.embedding_dim,
            "num_params": train_ds.num_params,
            "audio_model": train_ds.audio_model,
            "synth_fingerprint": train_ds.synth_fingerprint,
            "train_data": os.path.abspath(config.train_data),
        }
        model = models.build_proxy(config, train_ds.layout, train_ds.embedding_dim)
        train_iter = make_train_iterator(train_ds, config, mesh)
        steps_per_epoch = train_iter.steps_per_epoch
        total_steps, eval_every = runner.run_length(
            config,
            config.num_epochs * steps_per_epoch,
            max(1, steps_per_epoch // config.evals_per_epoch),
        )
        self.schedule = make_schedule(config, steps_per_epoch)
        self.tx = proxy_optimizer(config, self.schedule)
        summary = (
            f"encoder {config.encoder} on {config.synth}: {train_ds.num_examples} train / "
            f"{self.val_ds.num_examples} val examples; input {train_iter.mode}"
        )
        return runner.Run(
            model, train_iter, total_steps, eval_every, train_ds.synth_spec_json, facts, summary
        )

    def init_state(self, params, batch_stats) -> TrainState:
        return init_state(params, batch_stats, self.tx)

    def build(
        self, model_def: ModelDef, state, run: runner.Run, ckpt: Checkpointer, progress: Progress
    ) -> runner.Steps:
        config, mesh = self.config, self.mesh
        encode = proxy_step.jit_encode(make_encode(model_def), mesh)
        train_fn = proxy_step.make_train_step(model_def, self.tx)
        after_validation = None
        if uses_plateau(config):
            steps_per_epoch = run.train_iter.steps_per_epoch
            after_validation = epoch_plateau(config, steps_per_epoch, run.eval_every, mesh)
        return runner.Steps(
            jit_step=lambda state, k: proxy_step.jit_train_step(train_fn, mesh, state, k),
            validate=Validator(self.val_ds, config, mesh, encode),
            lr_at=lambda state, step: self.schedule(step) * lr_scale(state),
            after_validation=after_validation,
        )


@claims_workdir
def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Trains the config's proxy in `workdir`, resuming from its latest checkpoint if any.

    Returns the last validation metrics ({"l1", "mrr"}) plus the final training "step".
    """
    return runner.train(config, workdir, ProxyTask(config))
