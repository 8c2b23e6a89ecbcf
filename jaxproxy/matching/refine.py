"""Beyond the paper: refine a predicted preset by gradient descent through the frozen proxy.

The variables are the estimator's output logits for one sound (used-order layout, facts 9.2),
started at the estimator's prediction. Each step feeds their soft decoding (sigmoid for numerical
and binary parameters, softmax per categorical one: `soft_presets(mode="probs")`) to the proxy's
soft input, so every parameter type gets a gradient, and takes an Adam step on
L1(proxy(soft preset), target embedding). What the user gets is a *hard* preset, so after every
step the hard decoding (`decode_presets`) is scored with the hard proxy as well, and the best hard
preset seen (step 0 = the estimator's own prediction included) is kept: refinement never returns
a preset the proxy scores worse than the prediction.

The proxy is an imperfect judge: keeping its favourite alone gained as much toward a shuffled
target as toward the true one (issue 26). So `Refined.candidates` also holds the `candidates`
best distinct hard presets by proxy loss (step 0 always among them), and `pick_by_audio` renders
them (a render service, outside jit) and keeps, per sound, the one whose render is closest to the
target by the paper's `a_mean` after loudness matching; the estimator's prediction is a
candidate, so the pick is never worse than it by that measure.

`embed_clips` is the target embedding (data_gen's audio model, in a child process: this process
imports neither torch nor DawDreamer), shared by `jaxproxy match` and the evaluation.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
from pathlib import Path
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
    candidates: np.ndarray  # float32[B, K, P]: distinct hard presets, best proxy loss first
    candidate_steps: np.ndarray  # int[B, K]: the step each came from (-1: padding, a repeat)


def refine_presets(
    proxy: Any,
    layout: Any,
    logits_BxW: np.ndarray,
    target_emb_BxE: np.ndarray,
    steps: int,
    *,
    learning_rate: float = 0.05,
    candidates: int = 1,
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
      candidates: distinct hard presets kept per sound (the estimator's prediction always one).
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
    visited = [best_BxP.copy()]
    opt_state = optimizer.init(z_BxW)
    for k in range(1, steps + 1):
        z_BxW, opt_state, loss_B, hard_BxP = step(z_BxW, opt_state)
        loss_B = np.asarray(loss_B)
        history.append(loss_B)
        visited.append(np.asarray(hard_BxP))
        better = loss_B < best_loss_B
        best_loss_B = np.where(better, loss_B, best_loss_B)
        best_BxP[better] = np.asarray(hard_BxP)[better]
        best_step_B[better] = k
    losses_KxB = np.stack(history)
    pool, steps_BxK = _distinct_best(np.stack(visited), losses_KxB, max(1, candidates))
    return Refined(
        best_BxP.astype(np.float32), best_loss_B, best_step_B, losses_KxB, pool, steps_BxK
    )


def _distinct_best(
    visited_SxBxP: np.ndarray, losses_SxB: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per sound, the k distinct hard presets of lowest proxy loss, step 0 forced in; short
    lists repeat step 0 (step -1) so the array stays rectangular."""
    _, b, p = visited_SxBxP.shape
    out_BxKxP = np.repeat(visited_SxBxP[0][:, None], k, axis=1).astype(np.float32)
    steps_BxK = np.full((b, k), -1, np.int64)
    for j in range(b):
        _, first = np.unique(visited_SxBxP[:, j], axis=0, return_index=True)
        order = [s for s in first[np.argsort(losses_SxB[first, j], kind="stable")] if s != 0]
        chosen = [0, *order[: k - 1]]
        out_BxKxP[j, : len(chosen)] = visited_SxBxP[chosen, j]
        steps_BxK[j, : len(chosen)] = chosen
    return out_BxKxP, steps_BxK


def pick_by_audio(
    client: Any, candidates_BxKxP: np.ndarray, target_BxS: np.ndarray, workers: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Renders every candidate and keeps, per sound, the one with the lowest loudness-matched
    `a_mean` against its target. Returns (presets float32[B, P], index int[B], audio [B, S])."""
    from jaxproxy.matching import evaluation, level

    b, k, p = candidates_BxKxP.shape
    audio_NxS, failed_N = client.render(candidates_BxKxP.reshape(b * k, p))
    target_NxS = np.repeat(np.asarray(target_BxS, np.float32), k, axis=0)
    _, per = evaluation.score_audio(
        level.match_rms(audio_NxS, target_NxS), target_NxS, failed_N, workers=workers
    )
    score_BxK = np.where(np.isnan(per["a_mean"]), np.inf, per["a_mean"]).reshape(b, k)
    index_B = np.argmin(score_BxK, axis=1)  # ties and all-failed: the estimator's (index 0)
    rows = np.arange(b)
    audio_BxKxS = audio_NxS.reshape(b, k, -1)
    return candidates_BxKxP[rows, index_B], index_B, audio_BxKxS[rows, index_B]


def embed_clips(
    audio_model: str, audio_NxS: np.ndarray, rate: int, weights: str | None = None
) -> np.ndarray:
    """Embeddings float32[N, E] of clips under an audio model (`python -m data_gen.audio embed`
    in a child process); raises RuntimeError with the child's message when it fails."""
    with tempfile.TemporaryDirectory(prefix="jaxproxy-embed-") as tmp:
        clips, out = Path(tmp) / "clips.npy", Path(tmp) / "emb.npy"
        np.save(clips, np.atleast_2d(np.asarray(audio_NxS, np.float32)))
        command = [sys.executable, "-m", "data_gen.audio", "embed", audio_model, str(clips),
                   "--rate", str(rate), "--out", str(out)]  # fmt: skip
        done = subprocess.run(
            command + (["--weights", weights] if weights else []),
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"embedding with {audio_model}: {done.stderr.strip()[-500:]}")
        return np.load(out)
