"""Schedules: the proxy's wcrc LR, sound matching's loss weights, warmup and LR plateau."""

from __future__ import annotations

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax


def wcrc_schedule(
    base_lr: float,
    steps_per_epoch: int,
    *,
    constant_steps: int = 7_500,
    decay_end_epoch: float = 10,
    restart_end_epoch: float = 30,
    min_lr: float = 2e-6,
) -> optax.Schedule:
    """Returns the paper's LR schedule, stepped once per optimizer step.

    Four phases (synth-proxy `wcrc_scheduler_builder`; its "warmup" has start factor 1, so it is
    a constant phase at the base LR, not a ramp):

    1. `base_lr` for `constant_steps` steps;
    2. cosine from `base_lr` down to `min_lr`, ending at epoch `decay_end_epoch`;
    3. full restart: cosine from `base_lr` down to `min_lr`, ending at epoch `restart_end_epoch`;
    4. `min_lr` forever.

    With 20,000 steps per epoch (10.24 M examples, batch 512) phase 2 ends at step 200,000 and
    phase 3 at step 600,000.

    Args:
      base_lr: the peak (and phase-1) learning rate.
      steps_per_epoch: optimizer steps in one epoch of the training set.
      constant_steps: length of phase 1 in steps.
      decay_end_epoch: epoch at which the first cosine reaches `min_lr`.
      restart_end_epoch: epoch at which the restarted cosine reaches `min_lr`.
      min_lr: the floor of both cosines and the final constant LR.

    Raises:
      ValueError: if the phases would have non-positive lengths.
    """
    if steps_per_epoch <= 0:
        raise ValueError(f"wcrc_schedule: steps_per_epoch must be positive, got {steps_per_epoch}")
    decay_end = round(decay_end_epoch * steps_per_epoch)
    restart_end = round(restart_end_epoch * steps_per_epoch)
    decay_steps = decay_end - constant_steps
    restart_steps = restart_end - decay_end
    if decay_steps <= 0 or restart_steps <= 0:
        raise ValueError(
            f"wcrc_schedule: constant_steps={constant_steps} < decay end (epoch {decay_end_epoch} ="
            f" step {decay_end}) < restart end (epoch {restart_end_epoch} = step {restart_end})"
            f" must hold; with steps_per_epoch={steps_per_epoch} it does not. Lower constant_steps."
        )
    # cosine_decay_schedule(v, T, alpha) = v * ((1 - alpha) * (1 + cos(pi t / T)) / 2 + alpha),
    # i.e. exactly min_lr + (base_lr - min_lr) * (1 + cos(pi t / T)) / 2 with alpha = min/base.
    alpha = min_lr / base_lr
    return optax.join_schedules(
        [
            optax.constant_schedule(base_lr),
            optax.cosine_decay_schedule(base_lr, decay_steps, alpha=alpha),
            optax.cosine_decay_schedule(base_lr, restart_steps, alpha=alpha),
            optax.constant_schedule(min_lr),
        ],
        boundaries=[constant_steps, decay_end, restart_end],
    )


# Sound-matching loss-weight schedules (facts 9.4): name -> ((w_p start, end), (w_a start, end)).
# w_a includes the audio loss's base scale lw_a = 10.
LOSS_SCHEDULES = {
    "loss_p_only": ((1.0, 1.0), (0.0, 0.0)),  # the paper's PLoss
    "mix_a_p": ((1.0, 0.5), (0.0, 5.0)),  # Mix
    "switch_p_a": ((1.0, 0.0), (0.0, 10.0)),  # Switch
    "mix_p_a": ((0.0, 0.5), (10.0, 5.0)),  # unused in the paper
    "switch_a_p": ((0.0, 1.0), (10.0, 0.0)),  # unused
    "loss_a_only": ((0.0, 0.0), (10.0, 10.0)),  # unused
}
LOSS_SCHEDULE_ALIASES = {"ploss": "loss_p_only", "mix": "mix_a_p", "switch": "switch_p_a"}


def has_audio_loss(name: str) -> bool:
    """False for PLoss (`loss_p_only`): its audio weight is always 0, so the proxy never runs
    (the reference sets its proxy to None); True for the others and unknown names."""
    weights = LOSS_SCHEDULES.get(LOSS_SCHEDULE_ALIASES.get(name, name))
    return weights is None or any(weights[1])


def linear_ramp(start_value: float, end_value: float, start: int, warm: int) -> optax.Schedule:
    """The reference's `LinearScheduler` as an optax schedule (a function of the step).

    value(i) = start_value + (end_value - start_value) * l / max(warm, l), l = max(i - start, 0):
    constant before `start`, linear over `warm` steps, then exactly `end_value` (the same
    formula, so the ramp's edges are bit-exact; warm = 0 jumps at `start`).
    """

    def schedule(step):
        l = jnp.maximum(jnp.asarray(step, jnp.float32) - start, 0.0)  # noqa: E741
        return start_value + (end_value - start_value) * l / jnp.maximum(jnp.maximum(warm, l), 1.0)

    return schedule


def loss_weight_schedules(
    name: str, total_steps: int, start_frac: float = 0.333, warm_frac: float = 0.33
) -> tuple[optax.Schedule, optax.Schedule]:
    """(w_p, w_a) schedules of a named loss schedule over `total_steps` optimizer steps.

    The ramp starts at int(start_frac * total_steps) and lasts int(warm_frac * total_steps)
    steps, as the reference's resolvers compute them. Names: the reference's (`switch_p_a`, ...)
    or the paper's ("ploss", "mix", "switch").
    """
    key = LOSS_SCHEDULE_ALIASES.get(name, name)
    if key not in LOSS_SCHEDULES:
        raise ValueError(
            f"unknown loss schedule {name!r}; choose one of {sorted(LOSS_SCHEDULES)} "
            f"or {sorted(LOSS_SCHEDULE_ALIASES)}"
        )
    start, warm = int(start_frac * total_steps), int(warm_frac * total_steps)
    (p0, p1), (a0, a1) = LOSS_SCHEDULES[key]
    return linear_ramp(p0, p1, start, warm), linear_ramp(a0, a1, start, warm)


def warmup_factor(step, warmup_steps: int):
    """The reference's manual warmup: lr * min(1, (step + 1) / warmup) at 0-based `step`."""
    if warmup_steps <= 0:
        return 1.0
    return jnp.minimum(1.0, (step + 1) / warmup_steps)


@flax.struct.dataclass
class PlateauState:
    """ReduceLROnPlateau(mode=min) state: best metric, bad evaluations in a row, LR scale."""

    best: jax.Array
    num_bad: jax.Array
    scale: jax.Array

    @classmethod
    def create(cls) -> PlateauState:
        return cls(
            best=jnp.asarray(np.inf, jnp.float32),
            num_bad=jnp.zeros((), jnp.int32),
            scale=jnp.ones((), jnp.float32),
        )


def plateau_update(
    state: PlateauState, metric: float, *, factor: float, patience: int, threshold: float = 1e-4
) -> PlateauState:
    """One `ReduceLROnPlateau.step(metric)` (mode min, relative threshold, no cooldown)."""
    best, num_bad, scale = float(state.best), int(state.num_bad), float(state.scale)
    if metric < best * (1.0 - threshold):
        best, num_bad = metric, 0
    else:
        num_bad += 1
    if num_bad > patience:
        scale, num_bad = scale * factor, 0
    return PlateauState(
        best=jnp.asarray(best, jnp.float32),
        num_bad=jnp.asarray(num_bad, jnp.int32),
        scale=jnp.asarray(scale, jnp.float32),
    )


def plateau_scaling() -> optax.GradientTransformation:
    """Multiplies the updates by a `PlateauState.scale` kept in the optimizer state.

    Chained after AdamW at a constant LR this is AdamW at lr * scale (the decoupled weight decay
    is scaled by the LR too), so a trainer whose LR comes from an optax schedule can take the
    reference's ReduceLROnPlateau: the state is checkpointed with the optimizer's, and a
    validation replaces it through `plateau_update` (see `replace_plateau`).
    """

    def init(params):
        del params
        return PlateauState.create()

    def update(updates, state, params=None):
        del params
        return jax.tree.map(lambda u: u * state.scale.astype(u.dtype), updates), state

    return optax.GradientTransformation(init, update)


def find_plateau(opt_state) -> PlateauState | None:
    """The `PlateauState` inside a chained optimizer state, or None."""
    found = [s for s in jax.tree.leaves(opt_state, is_leaf=_is_plateau) if _is_plateau(s)]
    return found[0] if found else None


def replace_plateau(opt_state, plateau: PlateauState):
    """`opt_state` with its `PlateauState` replaced by `plateau`."""
    return jax.tree.map(lambda s: plateau if _is_plateau(s) else s, opt_state, is_leaf=_is_plateau)


def _is_plateau(node) -> bool:
    return isinstance(node, PlateauState)
