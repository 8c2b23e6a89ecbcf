"""Proxy fine-tuning on a sound-matching training split (facts 9.6), before estimator training.

`FinetuneTask` in the trainers' one skeleton (`runner.train`): starts from an exported proxy
(`config.init_from`), trains all its parameters with L1 on the same 89/11 split of the
hand-crafted set the estimator uses (`split_training`), AdamW with a linear warmup and then
ReduceLROnPlateau(0.5, patience 10) on the validation L1 each epoch. At the end the best
checkpoint (validation L1) is exported to `<workdir>/export`, the estimator's `config.proxy`.
"""

from __future__ import annotations

import os

import ml_collections
from absl import logging
from flax import nnx

from jaxproxy import export, load_proxy, losses, models, sharding
from jaxproxy.checkpointing import Checkpointer, abstract_like
from jaxproxy.models.functional import ModelDef, load_weights, make_encode
from jaxproxy.trainers import runner
from jaxproxy.trainers.progress import Progress
from jaxproxy.trainers.split_training import (
    PRESETS,
    Validator,
    WarmupPlateauTask,
    jit_train_step,
    load_splits,
    lr_readout,
    make_train_iterator,
    plateau_after_validation,
    warmup_plateau_step,
)
from jaxproxy.trainers.workdir import claims_workdir

TARGETS = "embedding"
FEATURES = (PRESETS, TARGETS)
BEST_MODES = {"best_l1": ("l1", "min")}
CURVES = ("train/loss", "train/lr", "val/l1")


def load_initial_model(folder: str, layout: models.PresetLayout):
    """(encoder config, encoder, spec json) rebuilt from an export's config.json and weights."""
    exported = load_proxy(folder)
    config = ml_collections.ConfigDict(exported.config)
    model = models.build_proxy(config, layout, exported.embedding_dim)
    load_weights(model, exported.weights, f"init_from={folder}")
    return config, model, exported.spec_json


class FinetuneTask(WarmupPlateauTask):
    """Proxy fine-tuning: the exported proxy, the split, L1; exports the best at the end."""

    best_modes = BEST_MODES
    curves = CURVES
    steps_per_call = 1

    def prepare(self, mesh) -> runner.Run:
        config, self.mesh = self.config, mesh
        ds, train_arrays, self.val_arrays = load_splits(config, FEATURES)
        self.encoder_config, model, self.spec_json = load_initial_model(config.init_from, ds.layout)
        self.embedding_dim = ds.embedding_dim
        train_iter = make_train_iterator(train_arrays, config, mesh)
        total_steps, eval_every = runner.run_length(
            config, config.num_epochs * train_iter.steps_per_epoch, train_iter.steps_per_epoch
        )
        facts = {"embedding_dim": ds.embedding_dim, "num_params": ds.num_params}
        summary = (
            f"fine-tuning {config.init_from} on {len(train_arrays[PRESETS])} / "
            f"{len(self.val_arrays[PRESETS])} examples for {total_steps} steps"
        )
        return runner.Run(
            model, train_iter, total_steps, eval_every, ds.synth_spec_json, facts, summary
        )

    def build(
        self, model_def: ModelDef, state, run: runner.Run, ckpt: Checkpointer, progress: Progress
    ) -> runner.Steps:
        config, mesh = self.config, self.mesh

        def loss_fn(params, batch_stats, frozen, batch, step):
            del frozen, step
            enc = nnx.merge(model_def.train_graph, params, batch_stats, model_def.rest, copy=True)
            loss = losses.embedding_l1(enc(batch[PRESETS]), batch[TARGETS])
            return loss, (nnx.state(enc, nnx.BatchStat), {"loss": loss})

        train_fn = warmup_plateau_step(loss_fn, self.tx, config)
        encode = make_encode(model_def)

        def eval_step(state, frozen, batch):
            emb = encode(state.params, state.batch_stats, batch[PRESETS])
            return {"l1": losses.embedding_l1(emb, batch[TARGETS])}

        replicated = sharding.replicated(mesh)
        return runner.Steps(
            jit_step=lambda state, k: jit_train_step(train_fn, mesh, state, {}, k),
            validate=Validator(self.val_arrays, config, mesh, eval_step, {}),
            lr_at=lr_readout(config),
            after_validation=plateau_after_validation(config, "l1", replicated),
        )

    def finish(self, workdir: str, state, run: runner.Run) -> None:
        """Exports the best checkpoint (validation L1) to `<workdir>/export`."""
        best = Checkpointer(os.path.join(workdir, "checkpoints"), best_modes=BEST_MODES)
        restored = best.restore(abstract_like(state), "best_l1")
        best.close()
        nnx.update(run.model, restored[0].params, restored[0].batch_stats)
        out = export.export_model(
            os.path.join(workdir, "export"),
            run.model,
            config=self.encoder_config.to_dict() | {"finetuned": self.config.to_dict()},
            spec_json=self.spec_json,
            embedding_dim=self.embedding_dim,
        )
        logging.info("exported the best fine-tuned proxy (step %d) to %s", restored[2], out)


@claims_workdir
def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Fine-tunes `config.init_from` in `workdir` (resumes if rerun); returns last val metrics."""
    return runner.train(config, workdir, FinetuneTask(config))
