"""Sound-matching estimator training (facts 9.1-9.5) through a frozen, exported proxy.

`train_and_evaluate(config, workdir)`: the dataset's params + target embedding + log-mel split
89/11 at random (seed 42), min-max statistics of the training part's log-mel put into the model,
the pure jitted step of `estimator_step` run by the shared loop (`trainers.loop`: data mesh,
donated state, orbax exact resume, TensorBoard, NaN stop), validation every 10 epochs with an
LR plateau on the hard-decoded audio-embedding L1, best checkpoints by that L1 and by L_p.
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
from jaxproxy.models.estimator import SoundMatchingEstimator
from jaxproxy.trainers import estimator_step, loop, proxy_step
from jaxproxy.trainers.progress import Progress
from jaxproxy.trainers.workdir import claims_workdir

CONFIG_FILE, SPEC_FILE, DATA_FILE = "config.json", "synth_spec.json", "data.json"
CURVES_FILE = "curves.png"
CURVES = ("train/loss_p", "train/loss_a", "train/lr", "val/loss_p", "val/a_l1")
FEATURES = (estimator_step.PRESETS, estimator_step.TARGETS, estimator_step.MEL)
BEST_MODES = {"best_a_l1": ("a_l1", "min"), "best_loss_p": ("loss_p", "min")}


def split_indices(num: int, train_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) example indices: a random split like torch's random_split."""
    perm = np.random.default_rng(seed).permutation(num)
    num_train = int(np.floor(train_fraction * num))
    return np.sort(perm[:num_train]), np.sort(perm[num_train:])


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
    """Means over the validation split's whole batches of the eval step's metrics."""

    def __init__(self, arrays, config, mesh, eval_step, proxy_weights):
        self.arrays, self.config, self.mesh = arrays, config, mesh
        self.proxy_weights = proxy_weights
        self.eval_step = jax.jit(eval_step)
        if data.num_eval_batches(len(arrays[estimator_step.PRESETS]), config.eval_batch_size) < 1:
            raise ValueError(
                f"the validation split ({len(arrays[estimator_step.PRESETS])} examples) has no "
                f"whole batch of eval_batch_size={config.eval_batch_size}"
            )

    def __call__(self, state) -> dict[str, float]:
        sums = []
        for batch in data.eval_batches(
            self.arrays, mesh=self.mesh, batch_size=self.config.eval_batch_size
        ):
            sums.append(self.eval_step(state, self.proxy_weights, batch))
        fetched = jax.device_get(sums)
        return {k: float(np.mean([m[k] for m in fetched])) for k in fetched[0]}


def plateau_after_validation(config, metric: str, replicated):
    """`after_validation` for `loop.run`: one ReduceLROnPlateau step on `metric` after warmup."""

    def after_validation(state, metrics):
        if int(state.step) < config.warmup_steps:  # the plateau starts after the warmup
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


@claims_workdir
def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Trains the config's estimator in `workdir`, resuming from its latest checkpoint if any.

    Returns the last validation metrics plus the final training "step".
    """
    mesh = sharding.make_mesh()
    ds, train_arrays, val_arrays = load_splits(config)
    proxy = load_proxy(config.proxy)
    check_proxy(proxy, ds, config)
    mel = train_arrays[estimator_step.MEL]
    facts = {
        "mel_min": float(mel.min()),
        "mel_max": float(mel.max()),
        "num_train": len(mel),
        "num_val": len(val_arrays[estimator_step.MEL]),
        "embedding_dim": ds.embedding_dim,
        "train_data": os.path.abspath(config.train_data),
        "proxy": os.path.abspath(config.proxy),
    }
    write_run_files(workdir, config, ds, facts)
    layout = ds.layout
    model = build_model(config, layout, facts["mel_min"], facts["mel_max"])
    logging.info(
        "estimator on %s: %s parameters; %d train / %d val examples; proxy %s; schedule %s",
        config.synth,
        f"{models.count_params(model):,}",
        facts["num_train"],
        facts["num_val"],
        config.proxy,
        config.loss_schedule,
    )
    model_def, params, batch_stats = proxy_step.split_model(model)
    train_iter = make_train_iterator(train_arrays, config, mesh)
    steps_per_epoch = train_iter.steps_per_epoch
    total_steps = config.num_train_steps
    if total_steps <= 0:
        total_steps = int(config.num_epochs * facts["num_train"] // config.batch_size)
    eval_every = config.eval_every_steps
    if eval_every <= 0:
        eval_every = max(1, int(config.eval_every_epochs * steps_per_epoch))

    tx = estimator_step.make_optimizer(config)
    replicated = sharding.replicated(mesh)
    state = jax.device_put(estimator_step.init_state(params, batch_stats, tx), replicated)
    proxy_weights = jax.device_put(proxy.weights, replicated)
    ckpt = Checkpointer(
        os.path.join(workdir, "checkpoints"), config.max_checkpoints_to_keep, BEST_MODES
    )
    state = loop.restore(ckpt, state, train_iter)
    train_fn = estimator_step.make_train_step(model_def, tx, layout, proxy, config, total_steps)
    eval_fn = estimator_step.make_eval_step(model_def, layout, proxy, config)
    validate = Validator(val_arrays, config, mesh, eval_fn, proxy_weights)

    after_validation = plateau_after_validation(config, "a_l1", replicated)
    progress = Progress(
        os.path.join(workdir, "tensorboard"), total_steps, int(state.step), config.batch_size,
        hparams=config.to_dict(), curves_png=os.path.join(workdir, CURVES_FILE), curves=CURVES,
    )  # fmt: skip
    cadence = loop.Cadence.from_config(config, total_steps, eval_every)
    logging.info(
        "training steps %d..%d (%d steps/epoch, eval every %d)",
        int(state.step),
        total_steps,
        steps_per_epoch,
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
        after_validation=after_validation,
    )
    return dict(val_metrics, step=int(state.step))
