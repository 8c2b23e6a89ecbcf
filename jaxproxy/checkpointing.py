"""Orbax checkpoints of a training run: the latest few, plus the best by validation MRR and L1.

Each checkpoint holds the whole train state pytree (model parameters and batch statistics,
optimizer state, step) and the data iterator's state, so restarting the same command continues
at the exact next batch. No RNG state is needed: the encoders use no dropout and the data order is
a function of (shuffle seed, epoch), which the iterator state pins down. Orbax writes into a
temporary folder and renames it when complete, so a run killed mid-save leaves the previous
checkpoint intact.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp

BEST_MODES = {"best_mrr": ("mrr", "max"), "best_l1": ("l1", "min")}  # a proxy's
# An estimator's: one best checkpoint per monitor (`best_<monitor>`, the one exported); a run
# fills those whose metric it computes.
ESTIMATOR_BEST_MODES = {
    "best_a_mean": ("a_mean", "min"),
    "best_a_l1": ("a_l1", "min"),
    "best_loss_p": ("loss_p", "min"),
}


def _encode_data_state(data_state: Any) -> Any:
    # grain iterators give either a JSON-able dict or JSON bytes; both go into a JSON item.
    if isinstance(data_state, bytes):
        return {"__bytes__": data_state.decode()}
    return data_state


def _decode_data_state(saved: Any) -> Any:
    if isinstance(saved, dict) and set(saved) == {"__bytes__"}:
        return saved["__bytes__"].encode()
    return saved


class Checkpointer:
    """The latest `max_to_keep` checkpoints in `directory/latest`; the best in best_mrr, best_l1."""

    def __init__(
        self,
        directory: str,
        max_to_keep: int = 2,
        best_modes: dict[str, tuple[str, str]] | None = None,
    ):
        """`best_modes`: folder -> (validation metric, "min"/"max"); default `BEST_MODES`."""
        self.directory = os.path.abspath(directory)
        self.latest = ocp.CheckpointManager(
            os.path.join(self.directory, "latest"),
            options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
        )
        self._keys = {kind: key for kind, (key, _) in (best_modes or BEST_MODES).items()}
        self.best = {
            kind: ocp.CheckpointManager(
                os.path.join(self.directory, kind),
                options=ocp.CheckpointManagerOptions(
                    max_to_keep=1,
                    create=True,
                    best_fn=lambda metrics, key=key: metrics[key],
                    best_mode=mode,
                ),
            )
            for kind, (key, mode) in (best_modes or BEST_MODES).items()
        }

    def latest_step(self) -> int | None:
        return self.latest.latest_step()

    @staticmethod
    def _args(state: Any, data_state: Any) -> ocp.args.Composite:
        items = {"state": ocp.args.StandardSave(state)}
        if data_state is not None:
            items["data"] = ocp.args.JsonSave(_encode_data_state(data_state))
        return ocp.args.Composite(**items)

    def save(self, step: int, state: Any, data_state: Any = None) -> None:
        """Saves the latest checkpoint at `step` (asynchronously once the arrays are copied)."""
        self.latest.save(step, args=self._args(state, data_state), force=True)

    def save_best(self, step: int, state: Any, metrics: dict[str, float]) -> None:
        """Offers `state` to the best managers whose metric `metrics` holds; each keeps its best.

        A run killed between `save_best` and `save` redoes this step after resuming; resume is
        exact, so a best checkpoint already at `step` holds this very state and is kept as is.
        A metric that arrives later (rendered audio) is offered on its own, with the state of
        its step.
        """
        for kind, manager in self.best.items():
            if self._keys[kind] not in metrics or step in manager.all_steps():
                continue
            manager.save(step, args=self._args(state, None), metrics=dict(metrics), force=True)

    def restore(self, abstract_state: Any, kind: str = "latest") -> tuple[Any, Any, int] | None:
        """Returns (state, data_state, step) of the newest (or best) checkpoint, or None.

        `abstract_state` gives the tree structure, shapes, dtypes and shardings to restore into
        (e.g. `jax.eval_shape` of the initial state with `.sharding` set).
        """
        manager = self.latest if kind == "latest" else self.best[kind]
        step = manager.latest_step() if kind == "latest" else manager.best_step()
        if step is None:
            return None
        items = {"state": ocp.args.StandardRestore(abstract_state)}
        if kind == "latest" and "data" in manager.item_metadata(step):
            items["data"] = ocp.args.JsonRestore()
        restored = manager.restore(step, args=ocp.args.Composite(**items))
        data_state = _decode_data_state(restored["data"]) if "data" in items else None
        return restored["state"], data_state, step

    def wait(self) -> None:
        for manager in (self.latest, *self.best.values()):
            manager.wait_until_finished()

    def close(self) -> None:
        for manager in (self.latest, *self.best.values()):
            manager.close()


def abstract_like(state: Any) -> Any:
    """ShapeDtypeStructs (with shardings) of `state`, the restore target for `Checkpointer`."""
    return jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=getattr(x, "sharding", None)),
        state,
    )
