"""Every field of a run config checked before a trainer writes anything, one line per problem.

A bad value (`--config.batch_size=0`, `--config.lr=nan`, `--config.input_mode=bogus`) or a data
folder that cannot be read fails here, naming the flag, before the workdir is created; without
this a zero batch size divided by zero and a bad input mode was found after config.json was
written. A rule applies to the configs that have the field (proxy, estimator, proxy_finetune).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from data_gen.dataset import checks as dataset_checks
from data_gen.dataset.schema import DatasetError

COMPUTE_DTYPES = ("float32", "bfloat16", "float16")
# Folders a config reads: dataset folders, and export folders (`jaxproxy export`).
DATASET_FIELDS = ("train_data", "val_data")
EXPORT_FIELDS = ("proxy", "init_from")


def _whole(low: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= low


def _real(low: float, high: float = math.inf, *, low_open: bool = False, high_open: bool = True):
    def ok(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            return False
        return (v > low if low_open else v >= low) and (v < high if high_open else v <= high)

    return ok


def _unit(low_open: bool = False, high_open: bool = True):
    text = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
    return _real(0, 1, low_open=low_open, high_open=high_open), f"a number in {text}"


# (fields, (rule, what the message says is expected)); `schedule.x` is a nested field.
_RULE_GROUPS = (
    (("batch_size", "eval_batch_size", "steps_per_call", "val_num_ranks", "log_every_steps",
      "checkpoint_every_steps", "max_checkpoints_to_keep", "evals_per_epoch"),
     (_whole(1), "a whole number >= 1")),
    (("input_workers", "warmup_steps", "plateau_patience", "schedule.constant_steps"),
     (_whole(0), "a whole number >= 0")),
    # <= 0 means "derive it" (from num_epochs, evals_per_epoch): any whole number will do.
    (("num_train_steps", "eval_every_steps"), (_whole(-(2**62)), "a whole number")),
    (("lr", "eps", "num_epochs", "gumbel_temperature", "eval_every_epochs"),
     (_real(0, low_open=True), "a finite number > 0")),
    (("weight_decay", "schedule.decay_end_epoch", "schedule.restart_end_epoch",
      "schedule.min_lr"), (_real(0), "a finite number >= 0")),
    (("b1", "b2", "dropout", "label_smoothing"), _unit()),
    (("ramp_start_frac", "ramp_warm_frac"), _unit(high_open=False)),
    (("train_fraction",), _unit(low_open=True)),
    (("plateau_factor",), _unit(low_open=True, high_open=False)),
    (("render_workers",), (_whole(0), "a whole number >= 0 (0: one per core)")),
    (("render_lag_steps",), (_whole(-1), "-1 (one epoch) or a whole number >= 0")),
    (("render_val_examples",),
     (lambda v: _whole(-1)(v) and v != 0, "-1 (all) or a whole number >= 1")),
)  # fmt: skip
_RULES = {field: rule for fields, rule in _RULE_GROUPS for field in fields}


def _choices() -> dict[str, Iterable[str]]:
    """Allowed values, from the modules that read the fields (imported here: they bring JAX)."""
    from jaxproxy.configs.estimator import AUDIO_INPUTS, MONITORS
    from jaxproxy.data.pipeline import MODES
    from jaxproxy.models.registry import ENCODERS
    from jaxproxy.schedules import LOSS_SCHEDULE_ALIASES, LOSS_SCHEDULES
    from jaxproxy.train_state import LR_SCHEDULES

    return {
        "input_mode": MODES,
        "audio_input": AUDIO_INPUTS,
        "compute_dtype": COMPUTE_DTYPES,
        "encoder": tuple(ENCODERS),
        "loss_schedule": (*LOSS_SCHEDULES, *LOSS_SCHEDULE_ALIASES),
        "lr_schedule": LR_SCHEDULES,
        "monitor": MONITORS,
    }


def _value(config: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = config
    for key in path.split("."):
        if not hasattr(node, "keys") or key not in node:
            return False, None
        node = node[key]
    return True, node


def check_config(config: Mapping[str, Any]) -> None:
    """Raises ValueError naming the first field whose value no trainer can use."""
    for path, (ok, expected) in _RULES.items():
        present, value = _value(config, path)
        if present and not ok(value):
            raise ValueError(f"--config.{path}={value!r}: must be {expected}")
    for path, allowed in _choices().items():
        present, value = _value(config, path)
        if present and value not in allowed:
            raise ValueError(f"--config.{path}={value!r}: must be one of {', '.join(allowed)}")


def _runs_proxy(config: Mapping[str, Any]) -> bool:
    from jaxproxy.schedules import has_audio_loss

    return has_audio_loss(config.get("loss_schedule", ""))


def check_inputs(config: Mapping[str, Any]) -> None:
    """Raises OSError/DatasetError naming the field when a folder the config reads is unusable."""
    for field in (*DATASET_FIELDS, *EXPORT_FIELDS):
        present, path = _value(config, field)
        if not present or (field == "proxy" and not _runs_proxy(config)):
            continue
        kind = "dataset folder" if field in DATASET_FIELDS else "export folder"
        if not os.path.exists(path):
            raise FileNotFoundError(f"--config.{field}={path}: no such {kind}")
        if not os.path.isdir(path):
            raise NotADirectoryError(f"--config.{field}={path}: is a file, not a {kind}")
        if field in DATASET_FIELDS:
            try:
                dataset_checks.read_metadata(path)
            except (DatasetError, OSError) as e:
                raise DatasetError(f"--config.{field}={path}: {e}") from e
