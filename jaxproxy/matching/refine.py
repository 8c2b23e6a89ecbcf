"""Beyond the paper: refine a predicted preset by gradient descent through the frozen proxy.

The variables are the estimator's output logits for one sound (used-order layout, facts 9.2),
started at the estimator's prediction. Each step feeds their soft decoding (sigmoid for numerical
and binary parameters, softmax per categorical one: `soft_presets(mode="probs")`) to the proxy's
soft input, so every parameter type gets a gradient, and takes an Adam step on
L1(proxy(soft preset), target embedding). What the user gets is a *hard* preset, so after every
step the hard decoding (`decode_presets`) is scored with the hard proxy as well, and the best hard
preset seen (step 0 = the estimator's own prediction included) is kept: refinement never returns
a preset the proxy scores worse than the prediction.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax


@dataclasses.dataclass(frozen=True)
class Refined:
    """Per sound: the best hard preset float32[B, P], its proxy loss float[B], the step it came
    from int[B] (0 = the estimator's prediction), and the hard presets' proxy losses after each
    step, float[steps + 1, B]."""

    presets: np.ndarray
    losses: np.ndarray
    best_steps: np.ndarray
    hard_losses: np.ndarray


def refine_presets(
    proxy: Any,
    layout: Any,
    logits_BxW: np.ndarray,
    target_emb_BxE: np.ndarray,
    steps: int,
    *,
    learning_rate: float = 0.05,
) -> Refined:
    """`steps` Adam steps on the logits of B sounds at once; see the module docstring.

    The loss is the sum over sounds of each sound's mean L1, and Adam is elementwise, so each
    sound is refined exactly as it would be alone.

    Args:
      proxy: a loaded proxy (`jaxproxy.load_proxy`): `proxy(presets_BxP)` and `proxy.soft(...)`.
      layout: the synth's `PresetLayout`.
      logits_BxW: the estimator's logits (used-order layout), float32[B, W].
      target_emb_BxE: the sounds' embeddings under the proxy's audio model.
      steps: gradient steps (0 returns the estimator's predictions).
    """
    from jaxproxy.models.estimator import decode_presets, soft_presets

    if steps < 0:
        raise ValueError(f"refine: steps must be >= 0, got {steps}")
    target_BxE = jnp.asarray(target_emb_BxE, jnp.float32)
    optimizer = optax.adam(learning_rate)

    def hard_losses(z_BxW):
        hard_BxP = decode_presets(z_BxW, layout)
        return jnp.mean(jnp.abs(proxy(hard_BxP) - target_BxE), axis=1), hard_BxP

    def soft_loss(z_BxW):
        emb_BxE = proxy.soft(soft_presets(z_BxW, layout))
        return jnp.sum(jnp.mean(jnp.abs(emb_BxE - target_BxE), axis=1))

    @jax.jit
    def step(z_BxW, opt_state):
        grads = jax.grad(soft_loss)(z_BxW)
        updates, opt_state = optimizer.update(grads, opt_state, z_BxW)
        z_BxW = optax.apply_updates(z_BxW, updates)
        return (z_BxW, opt_state, *hard_losses(z_BxW))

    z_BxW = jnp.asarray(logits_BxW, jnp.float32)
    loss_B, hard_BxP = jax.jit(hard_losses)(z_BxW)
    best_loss_B, best_BxP = np.asarray(loss_B), np.array(hard_BxP)
    best_step_B = np.zeros(len(best_loss_B), np.int64)
    history = [best_loss_B.copy()]
    opt_state = optimizer.init(z_BxW)
    for k in range(1, steps + 1):
        z_BxW, opt_state, loss_B, hard_BxP = step(z_BxW, opt_state)
        loss_B = np.asarray(loss_B)
        history.append(loss_B)
        better = loss_B < best_loss_B
        best_loss_B = np.where(better, loss_B, best_loss_B)
        best_BxP[better] = np.asarray(hard_BxP)[better]
        best_step_B[better] = k
    return Refined(best_BxP.astype(np.float32), best_loss_B, best_step_B, np.stack(history))
