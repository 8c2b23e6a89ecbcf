"""One trainer for every model: `train(config, workdir, task)`, the task supplying the parts.

The skeleton is the same for the proxy, the estimator and the proxy fine-tuning: the task opens
and checks its data and builds its model and training iterator (`Task.prepare`); the run files
are written, the model split once into a pure definition and weights (`models.functional`), the
task's train state put on the data mesh (parameters replicated) and the latest checkpoint
restored at the exact next batch; the task's jitted step, validation and learning-rate readout
(`Task.build`) are driven by `loop.run` (logs, validations, best and latest checkpoints, NaN
stop); the task may do something with the final state (`Task.finish`, e.g. export) and release
what it holds (`Task.close`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from typing import Any

import jax
import ml_collections
from absl import logging
from flax import nnx
from jax.sharding import Mesh

from jaxproxy import models, sharding
from jaxproxy.checkpointing import Checkpointer
from jaxproxy.models.functional import ModelDef, split_model
from jaxproxy.run_files import CURVES_FILE, write_run_files
from jaxproxy.trainers import loop
from jaxproxy.trainers.progress import Progress


@dataclasses.dataclass
class Run:
    """What a task prepared (data opened and checked; nothing written yet)."""

    model: nnx.Module
    train_iter: Any  # resumable: next(), get_state(), set_state(), steps_per_epoch
    total_steps: int
    eval_every: int
    spec_json: Mapping[str, Any]
    facts: dict[str, Any]  # data.json: what export rebuilds the model from
    summary: str  # "encoder tfm on dx7: ..." (the parameter count is added)


@dataclasses.dataclass
class Steps:
    """The task's parts around its pure step, for `loop.run`."""

    jit_step: Callable[[Any, int], Callable]
    validate: Callable[[Any], dict[str, float]]
    lr_at: Callable[[Any, int], float]
    after_validation: Callable[[Any, dict[str, float]], Any] | None = None
    deferred: loop.Deferred | None = None


class Task:
    """A model to train: its data, state, step and validation (see the module docstring).

    Built from the run's config; `prepare` comes first and may keep what the later calls need.
    """

    best_modes: dict[str, tuple[str, str]] | None = None  # None: checkpointing.BEST_MODES
    curves: tuple[str, ...] | None = None  # None: Progress's default curves
    steps_per_call: int | None = None  # None: the config's

    def prepare(self, mesh: Mesh) -> Run:
        raise NotImplementedError

    def init_state(self, params: nnx.State, batch_stats: nnx.State) -> Any:
        """The unreplicated initial train state (its optimizer state included)."""
        raise NotImplementedError

    def build(
        self, model_def: ModelDef, state: Any, run: Run, ckpt: Checkpointer, progress: Progress
    ) -> Steps:
        """The jitted step, validation and readouts, given the restored `state`."""
        raise NotImplementedError

    def finish(self, workdir: str, state: Any, run: Run) -> None:
        """After the last step (e.g. export the best checkpoint)."""

    def close(self) -> None:
        """Always, last: release what `prepare` opened (render services)."""


def run_length(
    config: ml_collections.ConfigDict, total: float, eval_every: float
) -> tuple[int, int]:
    """(total steps, validate every) of a run: the config's `num_train_steps` and
    `eval_every_steps` when positive, else the task's defaults (from epochs)."""
    total_steps = config.num_train_steps if config.num_train_steps > 0 else int(total)
    every = config.eval_every_steps if config.eval_every_steps > 0 else int(eval_every)
    return total_steps, every


def train(config: ml_collections.ConfigDict, workdir: str, task: Task) -> dict[str, float]:
    """Trains `task`'s model in `workdir`, resuming from its latest checkpoint if any.

    Returns the last validation metrics plus the final training "step". The caller is a
    trainer's `train_and_evaluate`, wrapped by `workdir.claims_workdir` (config checked, workdir
    created and locked).
    """
    mesh = sharding.make_mesh()
    try:
        run = task.prepare(mesh)
        write_run_files(workdir, config, run.spec_json, run.facts)
        logging.info(
            "%s; %s parameters; mesh %s",
            run.summary,
            f"{models.count_params(run.model):,}",
            dict(mesh.shape),
        )
        model_def, params, batch_stats = split_model(run.model)
        state = jax.device_put(task.init_state(params, batch_stats), sharding.replicated(mesh))
        ckpt = Checkpointer(
            os.path.join(workdir, "checkpoints"), config.max_checkpoints_to_keep, task.best_modes
        )
        state = loop.restore(ckpt, state, run.train_iter)
        curves = {} if task.curves is None else {"curves": task.curves}
        progress = Progress(
            os.path.join(workdir, "tensorboard"), run.total_steps, int(state.step),
            config.batch_size, hparams=config.to_dict(),
            curves_png=os.path.join(workdir, CURVES_FILE), **curves,
        )  # fmt: skip
        steps = task.build(model_def, state, run, ckpt, progress)
        logging.info(
            "training steps %d..%d (%d steps/epoch, eval every %d)",
            int(state.step),
            run.total_steps,
            run.train_iter.steps_per_epoch,
            run.eval_every,
        )
        cadence = loop.Cadence.from_config(
            config, run.total_steps, run.eval_every, task.steps_per_call
        )
        state, val_metrics = loop.run(
            state,
            train_iter=run.train_iter,
            jit_step=steps.jit_step,
            cadence=cadence,
            validate=steps.validate,
            ckpt=ckpt,
            progress=progress,
            lr_at=steps.lr_at,
            after_validation=steps.after_validation,
            deferred=steps.deferred,
        )
        task.finish(workdir, state, run)
        return dict(val_metrics, step=int(state.step))
    finally:
        task.close()
