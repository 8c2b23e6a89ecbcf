"""Learning-rate schedules: the paper's warmup-cosine-restart-constant ("wcrc") schedule."""

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
