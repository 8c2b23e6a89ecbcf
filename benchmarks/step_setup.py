"""One encoder's jitted proxy train step, built exactly as the trainer builds it, for benchmarks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import numpy as np
from jax.sharding import Mesh

OUT_DIM = 192  # the paper's mn04 embedding size
PAPER_TRAIN_EXAMPLES = 10_240_000  # facts: the paper's training set
PAPER_EPOCHS = 30


def paper_batch(encoder: str) -> int:
    """The paper's batch size: 512, TFM 256."""
    return 256 if encoder == "tfm" else 512


def layout_for(synth: str):
    from data_gen.synths.registry import get_spec
    from jaxproxy.models.layout import PresetLayout

    return PresetLayout.from_spec_json(get_spec(synth).to_json())


def config_for(
    encoder: str, synth: str = "dexed", compute_dtype: str = "float32", smoke: bool = False
):
    """The project config of (synth, encoder); `smoke` shrinks the encoder to test size."""
    from jaxproxy.configs import proxy as proxy_config

    config = proxy_config.get_config(
        f"synth={synth},encoder={encoder}" + (",smoke" if smoke else "")
    )
    config.compute_dtype = compute_dtype
    return config


def random_batches(layout, batch: int, count: int, out_dim: int = OUT_DIM, seed: int = 0):
    """`count` distinct (presets float32[B, P], targets float32[B, D]) pairs, seeded."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        presets = rng.random((batch, layout.n_used), dtype=np.float32)
        for col, card in zip(layout.cat_idx, layout.cat_cards, strict=True):
            presets[:, col] = rng.integers(0, card, batch)
        out.append((presets, rng.standard_normal((batch, out_dim), dtype=np.float32)))
    return out


@dataclasses.dataclass
class StepSetup:
    """A ready train step: `step(state, batches) -> (state, metrics)` with `batches` k long."""

    step: Callable
    state: object
    layout: object
    mesh: Mesh
    steps_per_call: int


def build_step(
    encoder: str,
    *,
    synth: str = "dexed",
    mesh: Mesh | None = None,
    steps_per_call: int = 1,
    compute_dtype: str = "float32",
    encoder_kwargs: dict | None = None,
    smoke: bool = False,
) -> StepSetup:
    """The trainer's model, optimizer, replicated state and donated, sharded jitted step."""
    from jaxproxy import models, sharding, train_state
    from jaxproxy.models import functional
    from jaxproxy.trainers import proxy_step

    layout, config = layout_for(synth), config_for(encoder, synth, compute_dtype, smoke)
    if encoder_kwargs:
        with config.unlocked():
            config.encoder_kwargs.update(encoder_kwargs)
    mesh = sharding.make_mesh() if mesh is None else mesh
    model_def, params, batch_stats = functional.split_model(
        models.build_proxy(config, layout, OUT_DIM)
    )
    tx = train_state.proxy_optimizer(config, train_state.make_schedule(config, 20_000))
    state = jax.device_put(
        train_state.init_state(params, batch_stats, tx), sharding.replicated(mesh)
    )
    train_step = proxy_step.make_train_step(model_def, tx)
    step = proxy_step.jit_train_step(train_step, mesh, state, steps_per_call)
    return StepSetup(step, state, layout, mesh, steps_per_call)


def placed_calls(setup: StepSetup, batch: int, calls: int, seed: int = 0) -> list[tuple[dict, ...]]:
    """`calls` argument tuples of k batches each, sharded over the setup's mesh."""
    from jaxproxy import sharding

    place = sharding.batch_sharding(setup.mesh)
    k = setup.steps_per_call
    pairs = random_batches(setup.layout, batch, calls * k, seed=seed)
    return [
        tuple(
            {"params": jax.device_put(p, place), "embedding": jax.device_put(t, place)}
            for p, t in pairs[i * k : (i + 1) * k]
        )
        for i in range(calls)
    ]
