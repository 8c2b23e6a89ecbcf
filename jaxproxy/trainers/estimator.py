"""Sound-matching estimator training (facts 9.1-9.5) through a frozen, exported proxy.

`train_and_evaluate(config, workdir)`: the dataset's params + target embedding + log-mel split
89/11 at random (seed 42), min-max statistics of the whole set's log-mel (training and
validation parts, as the reference) put into the model, the pure jitted step of
`estimator_step` run by the shared loop (`trainers.loop`: data mesh, donated state, orbax exact
resume, TensorBoard, NaN stop), validation every 10 epochs; the LR plateau and the best
checkpoint follow `config.monitor`: rendered-audio `a_mean` (`render_validation`, the
reference's), else the proxy's L1 `a_l1` or the parameter loss `loss_p`. PLoss never loads the
proxy.
"""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging
from flax import nnx

from jaxproxy import data, load_proxy, models, schedules, sharding
from jaxproxy.checkpointing import Checkpointer
from jaxproxy.data.iterators import HostBatchIterator
from jaxproxy.data.splits import split_indices
from jaxproxy.matching.evaluation import ValidationHook
from jaxproxy.models.estimator import SoundMatchingEstimator
from jaxproxy.trainers import estimator_step, loop, proxy_step, render_validation
from jaxproxy.trainers.progress import Progress
from jaxproxy.trainers.workdir import claims_workdir

CONFIG_FILE, SPEC_FILE, DATA_FILE = "config.json", "synth_spec.json", "data.json"
CURVES_FILE = "curves.png"
CURVES = ("train/loss_p", "train/loss_a", "train/lr", "val/loss_p", "val/a_l1", "val/a_mean")
FEATURES = (estimator_step.PRESETS, estimator_step.TARGETS, estimator_step.MEL)
# One best checkpoint per monitor (`best_<monitor>`, the one exported); a run fills those whose
# metric it computes.
BEST_MODES = {
    "best_a_mean": ("a_mean", "min"),
    "best_a_l1": ("a_l1", "min"),
    "best_loss_p": ("loss_p", "min"),
}


def load_splits(config: ml_collections.ConfigDict, features=FEATURES):
    """(dataset, train arrays, validation arrays) with clear errors for a wrong dataset."""
    ds = data.open_dataset(
        config.train_data, expect_synth=config.synth, expect_audio_model=config.audio_model
    )
    if estimator_step.MEL in features and estimator_step.MEL not in ds.feature_names:
        raise ValueError(
            f"train_data={config.train_data} has no 'mel' feature (features: "
            f"{list(ds.feature_names)}); generate it with `--extras mel`"
        )
    arrays = ds.load_arrays(features)
    train_idx, val_idx = split_indices(ds.num_examples, config.train_fraction, config.split_seed)
    take = lambda idx: {k: np.ascontiguousarray(v[idx]) for k, v in arrays.items()}  # noqa: E731
    return ds, take(train_idx), take(val_idx)


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


def build_model(
    config: ml_collections.ConfigDict, layout: models.PresetLayout, mel_min: float, mel_max: float
) -> SoundMatchingEstimator:
    return SoundMatchingEstimator(
        layout,
        mel_min=mel_min,
        mel_max=mel_max,
        channels=tuple(config.channels),
        d_final=config.d_final,
        dropout=config.dropout,
        rngs=nnx.Rngs(config.seed),
    )


def make_train_iterator(arrays, config, mesh) -> HostBatchIterator:
    """The resumable, shuffled training batches from host memory (a seam the resume test wraps)."""
    return HostBatchIterator(
        lambda positions: {name: array[positions] for name, array in arrays.items()},
        mode="memory",
        num_examples=len(arrays[estimator_step.PRESETS]),
        mesh=mesh,
        global_batch=config.batch_size,
        seed=config.shuffle_seed,
    )


class Validator:
    """Example-weighted means of the eval step's batch means over the whole validation split,
    its last partial batch included (the reference's loader keeps it; Lightning weights each
    batch's logged mean by its size). The partial batch is replicated, not sharded."""

    def __init__(self, arrays, config, mesh, eval_step, proxy_weights, rendered=None):
        self.arrays, self.config, self.mesh = arrays, config, mesh
        self.proxy_weights, self.rendered = proxy_weights, rendered
        self.eval_step = jax.jit(eval_step)
        num = len(arrays[estimator_step.PRESETS])
        self.num_whole = data.num_eval_batches(num, config.eval_batch_size) * config.eval_batch_size
        if num < 1:
            raise ValueError("the validation split is empty (train_fraction too high?)")

    def __call__(self, state) -> dict[str, float]:
        means, sizes = [], []
        whole = {k: v[: self.num_whole] for k, v in self.arrays.items()}
        for batch in data.eval_batches(
            whole, mesh=self.mesh, batch_size=self.config.eval_batch_size
        ):
            means.append(self.eval_step(state, self.proxy_weights, batch))
            sizes.append(self.config.eval_batch_size)
        rest = {k: v[self.num_whole :] for k, v in self.arrays.items()}
        if len(rest[estimator_step.PRESETS]):
            batch = jax.device_put(rest, sharding.replicated(self.mesh))
            means.append(self.eval_step(state, self.proxy_weights, batch))
            sizes.append(len(rest[estimator_step.PRESETS]))
        fetched = jax.device_get(means)
        if self.rendered is not None:  # rendered in the background, applied later
            self.rendered.submit(state)
        return {k: float(np.average([m[k] for m in fetched], weights=sizes)) for k in fetched[0]}


def plateau_after_validation(config, metric: str, replicated):
    """`after_validation` for `loop.run`: one ReduceLROnPlateau step on `metric` after warmup
    (`at_step`: the validation's step, when the metric arrives later)."""

    def after_validation(state, metrics, at_step: int | None = None):
        at = int(state.step) if at_step is None else at_step
        if at < config.warmup_steps:  # the plateau starts after the warmup
            return state
        plateau = schedules.plateau_update(
            jax.device_get(state.plateau),
            metrics[metric],
            factor=config.plateau_factor,
            patience=config.plateau_patience,
        )
        return state.replace(plateau=jax.device_put(plateau, replicated))

    return after_validation


def write_run_files(workdir, config, ds, facts) -> None:
    if jax.process_index() != 0:
        return
    for name, payload in (
        (CONFIG_FILE, config.to_dict()),
        (SPEC_FILE, ds.synth_spec_json),
        (DATA_FILE, facts),
    ):
        tmp = os.path.join(workdir, name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(payload, f, indent=2, default=str)
        os.replace(tmp, os.path.join(workdir, name))


def open_render_validation(config, ds, val_arrays, eval_every: int, steps_per_epoch: int):
    """(monitor, hook or None, rendered validation positions, lag in steps) of this run; the
    hook renders the subset's target presets once (`render_validation.resolve_monitor`)."""
    subset = render_validation.render_subset(
        len(val_arrays[estimator_step.PRESETS]), config.render_val_examples, config.split_seed
    )

    def make_hook() -> ValidationHook:
        return ValidationHook(
            ds.synth_spec_json,
            val_arrays[estimator_step.PRESETS][subset],
            max_examples=len(subset),
            workers=config.render_workers or None,
            batch_size=config.eval_batch_size,
        )

    uses_proxy = estimator_step.uses_audio_loss(config)
    monitor, hook = render_validation.resolve_monitor(config, uses_proxy, make_hook)
    lag = steps_per_epoch if config.render_lag_steps < 0 else config.render_lag_steps
    return monitor, hook, subset, min(lag, eval_every)


@claims_workdir
def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Trains the config's estimator in `workdir`, resuming from its latest checkpoint if any.

    Returns the last validation metrics plus the final training "step".
    """
    mesh = sharding.make_mesh()
    ds, train_arrays, val_arrays = load_splits(config)
    uses_proxy = estimator_step.uses_audio_loss(config)
    proxy = load_proxy(config.proxy) if uses_proxy else None  # PLoss never runs the proxy
    if proxy is not None:
        check_proxy(proxy, ds, config)
    # The reference's min/max (stats_train.pkl) cover the whole hand-crafted train split.
    mel_min = min(float(a[estimator_step.MEL].min()) for a in (train_arrays, val_arrays))
    mel_max = max(float(a[estimator_step.MEL].max()) for a in (train_arrays, val_arrays))
    train_iter = make_train_iterator(train_arrays, config, mesh)
    steps_per_epoch = train_iter.steps_per_epoch
    total_steps = config.num_train_steps
    if total_steps <= 0:
        total_steps = int(
            config.num_epochs * len(train_arrays[estimator_step.MEL]) // config.batch_size
        )
    eval_every = config.eval_every_steps
    if eval_every <= 0:
        eval_every = max(1, int(config.eval_every_epochs * steps_per_epoch))
    monitor, hook, subset, lag = open_render_validation(
        config, ds, val_arrays, eval_every, steps_per_epoch
    )
    facts = {
        "mel_min": mel_min,
        "mel_max": mel_max,
        "num_train": len(train_arrays[estimator_step.MEL]),
        "num_val": len(val_arrays[estimator_step.MEL]),
        "embedding_dim": ds.embedding_dim,
        "train_data": os.path.abspath(config.train_data),
        "proxy": os.path.abspath(config.proxy) if uses_proxy else None,
        "monitor": monitor,
        "num_rendered_val": len(subset) if hook is not None else 0,
    }
    try:
        write_run_files(workdir, config, ds, facts)
        layout = ds.layout
        model = build_model(config, layout, facts["mel_min"], facts["mel_max"])
        logging.info(
            "estimator on %s: %s parameters; %d train / %d val examples; proxy %s; schedule %s; "
            "plateau and best checkpoint on %s",
            config.synth,
            f"{models.count_params(model):,}",
            facts["num_train"],
            facts["num_val"],
            facts["proxy"],
            config.loss_schedule,
            facts["monitor"],
        )
        model_def, params, batch_stats = proxy_step.split_model(model)
        tx = estimator_step.make_optimizer(config)
        replicated = sharding.replicated(mesh)
        state = jax.device_put(estimator_step.init_state(params, batch_stats, tx), replicated)
        proxy_weights = {} if proxy is None else jax.device_put(proxy.weights, replicated)
        ckpt = Checkpointer(
            os.path.join(workdir, "checkpoints"), config.max_checkpoints_to_keep, BEST_MODES
        )
        state = loop.restore(ckpt, state, train_iter)
        train_fn = estimator_step.make_train_step(model_def, tx, layout, proxy, config, total_steps)
        eval_fn = estimator_step.make_eval_step(model_def, layout, proxy, config)
        progress = Progress(
            os.path.join(workdir, "tensorboard"), total_steps, int(state.step), config.batch_size,
            hparams=config.to_dict(), curves_png=os.path.join(workdir, CURVES_FILE), curves=CURVES,
        )  # fmt: skip
        plateau = plateau_after_validation(config, facts["monitor"], replicated)
        rendered = None
        if hook is not None:
            rendered = render_validation.RenderedValidation(
                hook, estimator_step.make_predict_step(model_def, layout),
                val_arrays[estimator_step.MEL][subset], batch_size=config.eval_batch_size, lag=lag,
                ckpt=ckpt, progress=progress, apply_plateau=plateau,
            )  # fmt: skip
            step = int(state.step)
            # A latest checkpoint saved at a validation holds that validation's render, pending.
            if step > 0 and (
                loop.crossed(step, config.steps_per_call, eval_every) or step == total_steps
            ):
                rendered.submit(state)
        validate = Validator(val_arrays, config, mesh, eval_fn, proxy_weights, rendered)
        cadence = loop.Cadence.from_config(config, total_steps, eval_every)
        logging.info(
            "training steps %d..%d (%d steps/epoch, eval every %d)",
            int(state.step),
            total_steps,
            train_iter.steps_per_epoch,
            eval_every,
        )
        state, val_metrics = loop.run(
            state,
            train_iter=train_iter,
            jit_step=lambda state, k: estimator_step.jit_train_step(
                train_fn, mesh, state, proxy_weights, k
            ),
            cadence=cadence,
            validate=validate,
            ckpt=ckpt,
            progress=progress,
            lr_at=lambda state, step: float(
                estimator_step.learning_rate(config, step, jnp.asarray(state.plateau.scale))
            ),
            after_validation=None if rendered is not None else plateau,
            deferred=rendered,
        )
        return dict(val_metrics, step=int(state.step))
    finally:
        if hook is not None:
            hook.close()
