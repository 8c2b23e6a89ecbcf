"""Proxy fine-tuning on a sound-matching training split (facts 9.6), before estimator training.

Starts from an exported proxy (`config.init_from`), trains all its parameters with L1 on the same
89/11 split of the hand-crafted set the estimator uses, AdamW with a linear warmup and then
ReduceLROnPlateau(0.5, patience 10) on the validation L1 each epoch. At the end the best
checkpoint (validation L1) is exported to `<workdir>/export`, the estimator's `config.proxy`.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import ml_collections
from absl import logging
from flax import nnx

from jaxproxy import export, load_proxy, losses, models, sharding
from jaxproxy.checkpointing import Checkpointer, abstract_like
from jaxproxy.export import flat_weights
from jaxproxy.trainers import estimator, estimator_step, loop, proxy, proxy_step
from jaxproxy.trainers.progress import Progress
from jaxproxy.trainers.workdir import claims_workdir

FEATURES = (estimator_step.PRESETS, estimator_step.TARGETS)
BEST_MODES = {"best_l1": ("l1", "min")}
CURVES = ("train/loss", "train/lr", "val/l1")


def load_initial_model(folder: str, layout: models.PresetLayout):
    """(encoder config, encoder) rebuilt from an export's config.json and weights.npz."""
    exported = load_proxy(folder)
    config = ml_collections.ConfigDict(exported.config)
    model = proxy.build_model(config, layout, exported.embedding_dim)
    _, params, batch_stats = proxy_step.split_model(model)
    names, treedef = flat_weights({"params": params, "batch_stats": batch_stats})
    missing = sorted(set(names) - set(exported.weights))
    if missing:
        raise ValueError(f"init_from={folder}: weights {missing[:3]} missing (another encoder?)")
    tree = jax.tree_util.tree_unflatten(treedef, [exported.weights[n] for n in names])
    nnx.update(model, tree["params"], tree["batch_stats"])
    return config, model, exported.spec_json


@claims_workdir
def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Fine-tunes `config.init_from` in `workdir` (resumes if rerun); returns last val metrics."""
    mesh = sharding.make_mesh()
    ds, train_arrays, val_arrays = estimator.load_splits(config, FEATURES)
    encoder_config, model, spec_json = load_initial_model(config.init_from, ds.layout)
    estimator.write_run_files(
        workdir, config, ds, {"embedding_dim": ds.embedding_dim, "num_params": ds.num_params}
    )
    model_def, params, batch_stats = proxy_step.split_model(model)
    train_iter = estimator.make_train_iterator(train_arrays, config, mesh)
    total_steps = config.num_train_steps
    if total_steps <= 0:
        total_steps = int(config.num_epochs * train_iter.steps_per_epoch)
    eval_every = config.eval_every_steps
    if eval_every <= 0:
        eval_every = train_iter.steps_per_epoch
    logging.info(
        "fine-tuning %s (%s parameters) on %d / %d examples for %d steps",
        config.init_from,
        f"{models.count_params(model):,}",
        len(train_arrays[estimator_step.PRESETS]),
        len(val_arrays[estimator_step.PRESETS]),
        total_steps,
    )

    def loss_fn(params, batch_stats, frozen, batch, step):
        del frozen, step
        enc = nnx.merge(model_def.train_graph, params, batch_stats, model_def.rest, copy=True)
        loss = losses.embedding_l1(
            enc(batch[estimator_step.PRESETS]), batch[estimator_step.TARGETS]
        )
        return loss, (nnx.state(enc, nnx.BatchStat), {"loss": loss})

    tx = estimator_step.make_optimizer(config)
    replicated = sharding.replicated(mesh)
    state = jax.device_put(estimator_step.init_state(params, batch_stats, tx), replicated)
    ckpt = Checkpointer(
        os.path.join(workdir, "checkpoints"), config.max_checkpoints_to_keep, BEST_MODES
    )
    state = loop.restore(ckpt, state, train_iter)
    train_fn = estimator_step.warmup_plateau_step(loss_fn, tx, config)
    encode = proxy_step.make_encode(model_def)

    def eval_step(state, frozen, batch):
        emb = encode(state.params, state.batch_stats, batch[estimator_step.PRESETS])
        return {"l1": losses.embedding_l1(emb, batch[estimator_step.TARGETS])}

    validate = estimator.Validator(val_arrays, config, mesh, eval_step, {})
    progress = Progress(
        os.path.join(workdir, "tensorboard"),
        total_steps,
        int(state.step),
        config.batch_size,
        hparams=config.to_dict(),
        curves_png=os.path.join(workdir, proxy.CURVES_FILE),
        curves=CURVES,
    )
    state, val_metrics = loop.run(
        state,
        train_iter=train_iter,
        jit_step=lambda state, k: estimator_step.jit_train_step(train_fn, mesh, state, {}, k),
        cadence=loop.Cadence.from_config(config, total_steps, eval_every, steps_per_call=1),
        validate=validate,
        ckpt=ckpt,
        progress=progress,
        lr_at=lambda state, step: float(
            estimator_step.learning_rate(config, step, jnp.asarray(state.plateau.scale))
        ),
        after_validation=estimator.plateau_after_validation(config, "l1", replicated),
    )
    best = Checkpointer(os.path.join(workdir, "checkpoints"), best_modes=BEST_MODES)
    restored = best.restore(abstract_like(state), "best_l1")
    best.close()
    nnx.update(model, restored[0].params, restored[0].batch_stats)
    out = export.export_model(
        os.path.join(workdir, "export"),
        model,
        config=encoder_config.to_dict() | {"finetuned": config.to_dict()},
        spec_json=spec_json,
        embedding_dim=ds.embedding_dim,
    )
    logging.info("exported the best fine-tuned proxy (step %d) to %s", restored[2], out)
    return dict(val_metrics, step=int(state.step))
