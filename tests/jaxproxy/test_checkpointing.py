"""Tests for the orbax checkpointer: round trip with data state, best-by-metric retention."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxproxy import train_state
from jaxproxy.checkpointing import Checkpointer, abstract_like
from jaxproxy.models import functional


def _state(seed: int):
    model = nnx.Sequential(
        nnx.Linear(3, 4, rngs=nnx.Rngs(seed)), nnx.BatchNorm(4, rngs=nnx.Rngs(0))
    )
    _, params, batch_stats = functional.split_model(model)
    return train_state.init_state(params, batch_stats, optax.adam(1e-3))


def test_round_trip_with_data_state(tmp_path):
    ckpt = Checkpointer(str(tmp_path), max_to_keep=2)
    assert ckpt.restore(abstract_like(_state(0))) is None
    for step in (1, 2, 3):
        state = _state(step).replace(step=jnp.int32(step))
        ckpt.save(step, state, {"epoch": step, "seen": [1, 2]} if step < 3 else b'{"pos": 7}')
    ckpt.wait()
    assert ckpt.latest.all_steps() == [2, 3]
    restored, data_state, step = ckpt.restore(abstract_like(_state(0)))
    assert step == 3 and data_state == b'{"pos": 7}'
    jax.tree.map(np.testing.assert_array_equal, restored, _state(3).replace(step=jnp.int32(3)))
    ckpt.close()


def test_best_checkpoints_keep_only_the_best(tmp_path):
    ckpt = Checkpointer(str(tmp_path))
    for step, (mrr, l1) in enumerate([(0.5, 0.3), (0.7, 0.4), (0.6, 0.2), (0.1, 0.9)], start=1):
        ckpt.save_best(step, _state(step), {"mrr": mrr, "l1": l1})
    ckpt.wait()
    assert ckpt.best["best_mrr"].all_steps() == [2]
    assert ckpt.best["best_l1"].all_steps() == [3]
    restored, data_state, step = ckpt.restore(abstract_like(_state(0)), kind="best_l1")
    assert step == 3 and data_state is None
    jax.tree.map(np.testing.assert_array_equal, restored.params, _state(3).params)
    ckpt.close()


def test_best_at_a_step_redone_after_a_kill_is_kept(tmp_path):
    # A run killed after save_best(step) but before save(step) resumes from an earlier latest
    # checkpoint and offers the same step again: that must not fail, and the first save stays.
    first = Checkpointer(str(tmp_path))
    first.save_best(4, _state(4), {"mrr": 0.5, "l1": 0.3})
    first.wait()
    first.close()
    resumed = Checkpointer(str(tmp_path))
    resumed.save_best(4, _state(4), {"mrr": 0.5, "l1": 0.3})
    resumed.save_best(6, _state(6), {"mrr": 0.9, "l1": 0.4})
    resumed.wait()
    assert resumed.best["best_mrr"].all_steps() == [6]
    assert resumed.best["best_l1"].all_steps() == [4]
    restored, _, step = resumed.restore(abstract_like(_state(0)), kind="best_l1")
    assert step == 4
    jax.tree.map(np.testing.assert_array_equal, restored.params, _state(4).params)
    resumed.close()
