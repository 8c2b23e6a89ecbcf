"""Sound-matching estimator training (facts 9.1-9.5) through a frozen, exported proxy.

`train_and_evaluate(config, workdir)` runs `EstimatorTask` in the trainers' one skeleton
(`runner.train`): the dataset's params + target embedding + log-mel split 89/11 at random (seed
42, `split_training`), min-max statistics of the whole set's log-mel (training and validation
parts, as the reference) put into the model, the pure jitted step of `estimator_step`,
validation every 10 epochs; the LR plateau and the best checkpoint follow `config.monitor`:
rendered-audio `a_mean` (`render_validation`, the reference's), else the proxy's L1 `a_l1` or the
parameter loss `loss_p`. PLoss never loads the proxy.
"""

from __future__ import annotations

import os

import jax
import ml_collections

from jaxproxy import load_proxy, sharding
from jaxproxy.checkpointing import ESTIMATOR_BEST_MODES, Checkpointer
from jaxproxy.matching.evaluation import ValidationHook
from jaxproxy.models.estimator import build_estimator
from jaxproxy.models.functional import ModelDef
from jaxproxy.trainers import estimator_step, loop, render_validation, runner
from jaxproxy.trainers.progress import Progress
from jaxproxy.trainers.split_training import (
    MEL,
    PRESETS,
    Validator,
    WarmupPlateauTask,
    jit_train_step,
    load_splits,
    lr_readout,
    make_train_iterator,
    plateau_after_validation,
)
from jaxproxy.trainers.workdir import claims_workdir

CURVES = ("train/loss_p", "train/loss_a", "train/lr", "val/loss_p", "val/a_l1", "val/a_mean")
FEATURES = (PRESETS, estimator_step.TARGETS, MEL)


def check_proxy(proxy, ds, config: ml_collections.ConfigDict) -> None:
    """The proxy must take this synth's presets and give this audio model's embeddings."""
    where = f"proxy={config.proxy}"
    if proxy.num_params != ds.num_params or proxy.info.get("synth") != ds.synth_name:
        raise ValueError(
            f"{where} is for synth {proxy.info.get('synth')!r} ({proxy.num_params} params) but "
            f"train_data={config.train_data} is {ds.synth_name!r} ({ds.num_params} params)"
        )
    if proxy.embedding_dim != ds.embedding_dim:
        raise ValueError(
            f"{where} gives {proxy.embedding_dim}-d embeddings but train_data="
            f"{config.train_data} holds {ds.embedding_dim}-d ones (audio model mismatch?)"
        )


def open_render_validation(config, ds, val_arrays, eval_every: int, steps_per_epoch: int):
    """(monitor, hook or None, rendered validation positions, lag in steps) of this run; the
    hook renders the subset's target presets once (`render_validation.resolve_monitor`)."""
    subset = render_validation.render_subset(
        len(val_arrays[PRESETS]), config.render_val_examples, config.split_seed
    )

    def make_hook() -> ValidationHook:
        return ValidationHook(
            ds.synth_spec_json,
            val_arrays[PRESETS][subset],
            max_examples=len(subset),
            workers=config.render_workers or None,
            batch_size=config.eval_batch_size,
        )

    uses_proxy = estimator_step.uses_audio_loss(config)
    monitor, hook = render_validation.resolve_monitor(config, uses_proxy, make_hook)
    lag = steps_per_epoch if config.render_lag_steps < 0 else config.render_lag_steps
    return monitor, hook, subset, min(lag, eval_every)


class EstimatorTask(WarmupPlateauTask):
    """Estimator training: the split, the proxy (not for PLoss), the rendered validation."""

    best_modes = ESTIMATOR_BEST_MODES
    curves = CURVES

    def __init__(self, config: ml_collections.ConfigDict):
        super().__init__(config)
        self.hook = None

    def prepare(self, mesh) -> runner.Run:
        config, self.mesh = self.config, mesh
        ds, train_arrays, self.val_arrays = load_splits(config, FEATURES)
        uses_proxy = estimator_step.uses_audio_loss(config)
        self.proxy = load_proxy(config.proxy) if uses_proxy else None  # PLoss never runs it
        if self.proxy is not None:
            check_proxy(self.proxy, ds, config)
        # The reference's min/max (stats_train.pkl) cover the whole hand-crafted train split.
        mel_min = min(float(a[MEL].min()) for a in (train_arrays, self.val_arrays))
        mel_max = max(float(a[MEL].max()) for a in (train_arrays, self.val_arrays))
        train_iter = make_train_iterator(train_arrays, config, mesh)
        steps_per_epoch = train_iter.steps_per_epoch
        total_steps, eval_every = runner.run_length(
            config,
            config.num_epochs * len(train_arrays[MEL]) // config.batch_size,
            max(1, int(config.eval_every_epochs * steps_per_epoch)),
        )
        self.monitor, self.hook, self.subset, self.lag = open_render_validation(
            config, ds, self.val_arrays, eval_every, steps_per_epoch
        )
        facts = {
            "mel_min": mel_min,
            "mel_max": mel_max,
            "num_train": len(train_arrays[MEL]),
            "num_val": len(self.val_arrays[MEL]),
            "embedding_dim": ds.embedding_dim,
            "train_data": os.path.abspath(config.train_data),
            "proxy": os.path.abspath(config.proxy) if uses_proxy else None,
            "monitor": self.monitor,
            "num_rendered_val": len(self.subset) if self.hook is not None else 0,
        }
        self.layout = ds.layout
        model = build_estimator(config, self.layout, mel_min, mel_max)
        summary = (
            f"estimator on {config.synth}: {facts['num_train']} train / {facts['num_val']} val "
            f"examples; proxy {facts['proxy']}; schedule {config.loss_schedule}; plateau and "
            f"best checkpoint on {self.monitor}"
        )
        return runner.Run(
            model, train_iter, total_steps, eval_every, ds.synth_spec_json, facts, summary
        )

    def build(
        self, model_def: ModelDef, state, run: runner.Run, ckpt: Checkpointer, progress: Progress
    ) -> runner.Steps:
        config, mesh, layout, proxy = self.config, self.mesh, self.layout, self.proxy
        replicated = sharding.replicated(mesh)
        proxy_weights = {} if proxy is None else jax.device_put(proxy.weights, replicated)
        train_fn = estimator_step.make_train_step(
            model_def, self.tx, layout, proxy, config, run.total_steps
        )
        eval_fn = estimator_step.make_eval_step(model_def, layout, proxy, config)
        plateau = plateau_after_validation(config, self.monitor, replicated)
        rendered = None
        if self.hook is not None:
            rendered = render_validation.RenderedValidation(
                self.hook, estimator_step.make_predict_step(model_def, layout),
                self.val_arrays[MEL][self.subset], batch_size=config.eval_batch_size,
                lag=self.lag, ckpt=ckpt, progress=progress, apply_plateau=plateau,
            )  # fmt: skip
            step = int(state.step)
            # A latest checkpoint saved at a validation holds that validation's render, pending.
            if step > 0 and (
                loop.crossed(step, config.steps_per_call, run.eval_every) or step == run.total_steps
            ):
                rendered.submit(state)
        return runner.Steps(
            jit_step=lambda state, k: jit_train_step(train_fn, mesh, state, proxy_weights, k),
            validate=Validator(self.val_arrays, config, mesh, eval_fn, proxy_weights, rendered),
            lr_at=lr_readout(config),
            after_validation=None if rendered is not None else plateau,
            deferred=rendered,
        )

    def close(self) -> None:
        if self.hook is not None:
            self.hook.close()


@claims_workdir
def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Trains the config's estimator in `workdir`, resuming from its latest checkpoint if any.

    Returns the last validation metrics plus the final training "step".
    """
    return runner.train(config, workdir, EstimatorTask(config))
