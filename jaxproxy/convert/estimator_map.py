"""The reference's sound-matching estimator (`EstimatorNet`, facts 9.2) mapped 1:1 onto ours.

Its state dict (the Lightning module's `estimator.` prefix stripped): `enc_nn` is one Sequential
of Conv2d, LeakyReLU and (from the second convolution on) BatchNorm2d, so convolution i sits at
index 0 (i = 0) or 3i - 1 and the BatchNorm after it at 3i + 1; `features_mixer_cnn.0` is the
1x1 convolution to 2048 channels; `mlp.1` the Linear and `mlp.2` the final BatchNorm1d (`mlp.0`
is the dropout). The output columns are the used parameters in preset order (one per numerical
or binary parameter, one per category), as ours. The reference scales the log-mel to [-1, 1]
with the training set's min and max before the network (facts 9.1); ours does it inside the
model, so they come from `--mel-stats` and become the model's `mel_min` / `mel_max`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from flax import nnx

from jaxproxy.convert.state_map import StateMapper, fill_model
from jaxproxy.models.estimator import SoundMatchingEstimator
from jaxproxy.models.layout import PresetLayout

ESTIMATOR_PREFIX, PROXY_PREFIX = "estimator.", "synth_proxy."


def is_estimator_state(state: Mapping[str, Any]) -> bool:
    """Whether a Lightning state dict is the reference's sound-matching module's."""
    return any(str(k).startswith(ESTIMATOR_PREFIX + "enc_nn.") for k in state)


def split_state(
    state: Mapping[str, np.ndarray], source: str
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(estimator state dict, synth-proxy state dict, empty when the proxy was not saved)."""
    parts: dict[str, dict[str, np.ndarray]] = {ESTIMATOR_PREFIX: {}, PROXY_PREFIX: {}}
    for key, value in state.items():
        prefix = next((p for p in parts if key.startswith(p)), None)
        if prefix is None:
            raise ValueError(
                f"{source}: unexpected key {key!r} in a sound-matching checkpoint (expected "
                f"{ESTIMATOR_PREFIX}* and {PROXY_PREFIX}*)"
            )
        parts[prefix][key[len(prefix) :]] = value
    return parts[ESTIMATOR_PREFIX], parts[PROXY_PREFIX]


def _conv_index(i: int) -> int:
    return 0 if i == 0 else 3 * i - 1


def infer_sizes(sd: Mapping[str, np.ndarray], source: str) -> dict[str, Any]:
    """{"channels", "d_final", "out_width"} from the tensors' shapes."""
    convs = sorted(
        int(m.group(1))
        for k, v in sd.items()
        if (m := re.fullmatch(r"enc_nn\.(\d+)\.weight", k)) and np.ndim(v) == 4
    )
    if not convs or convs != [_conv_index(i) for i in range(len(convs))]:
        raise ValueError(
            f"{source}: unknown estimator layout: convolutions at enc_nn indices {convs}, "
            f"expected 0, 2, 5, 8, ... (Conv2d, LeakyReLU, BatchNorm2d)"
        )
    for key in ("features_mixer_cnn.0.weight", "mlp.1.weight"):
        if key not in sd:
            raise ValueError(f"{source}: missing key {ESTIMATOR_PREFIX + key!r}")
    return {
        "channels": tuple(int(sd[f"enc_nn.{i}.weight"].shape[0]) for i in convs),
        "d_final": int(sd["features_mixer_cnn.0.weight"].shape[0]),
        "out_width": int(sd["mlp.1.weight"].shape[0]),
    }


def output_width(layout: PresetLayout) -> int:
    return int(layout.used_widths.sum())


def build_converted_estimator(
    sd: Mapping[str, np.ndarray],
    layout: PresetLayout,
    mel_min: float,
    mel_max: float,
    source: str,
) -> tuple[SoundMatchingEstimator, dict[str, Any]]:
    """(our estimator holding the reference weights, in eval mode; its sizes)."""
    sizes = infer_sizes(sd, source)
    if sizes["out_width"] != output_width(layout):
        raise ValueError(
            f"{source}: the estimator has {sizes['out_width']} outputs, synth {layout.name!r} "
            f"needs {output_width(layout)}"
        )
    # Shapes only (no initialiser runs): every variable is then set from the checkpoint.
    model = nnx.eval_shape(
        lambda: SoundMatchingEstimator(
            layout,
            mel_min=mel_min,
            mel_max=mel_max,
            channels=sizes["channels"],
            d_final=sizes["d_final"],
            rngs=nnx.Rngs(0),
        )
    )

    def fill(m: StateMapper) -> None:
        for i in range(len(sizes["channels"])):
            m.conv(f"enc_nn.{_conv_index(i)}", ("convs", i))
            if i > 0:  # no BatchNorm after the first convolution
                m.norm(f"enc_nn.{3 * i + 1}", ("norms", i - 1), batch=True)
        m.conv("features_mixer_cnn.0", ("final_conv",))
        m.linear("mlp.1", ("head",), bias=True)
        m.norm("mlp.2", ("head_norm",), batch=True)
        m.put(("mel_min",), np.float32(mel_min), "--mel-stats min")
        m.put(("mel_max",), np.float32(mel_max), "--mel-stats max")

    fill_model(model, sd, f"{source} ({ESTIMATOR_PREFIX}*)", fill)
    return model, sizes
