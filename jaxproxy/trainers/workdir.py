"""A training run's claim on its workdir: config checked, workdir locked, no trace of a refusal.

Every trainer's `train_and_evaluate(config, workdir)` is wrapped by `claims_workdir`, which
first checks every config field, the workdir's path and the folders the config reads (nothing
is written for a bad one), then joins the other hosts (`config.distributed`), creates the
workdir and locks it for the whole run. One lock per process (`.lock` for process 0, `.lock.<i>`
for process i): with a workdir on a shared file system a second run is refused on every host
at once, and with per-host workdirs each host still guards its own. A second run in a locked
workdir is refused with one line naming the running process (without the lock it resumed from
the first run's checkpoint and both wrote checkpoints). A start that fails before writing
anything but the lock removes the folders it created.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TypeVar

import jax
import ml_collections

from data_gen.cli_support.command_line import out_dir_problem
from data_gen.cli_support.folder_lock import LOCK_FILE, FolderLock
from jaxproxy.configs.checks import check_config, check_inputs

R = TypeVar("R")


def lock_name(process_index: int) -> str:
    """The lock file of one process of a (possibly multi-host) run."""
    return LOCK_FILE if process_index == 0 else f"{LOCK_FILE}.{process_index}"


def claims_workdir(
    train: Callable[[ml_collections.ConfigDict, str], R],
) -> Callable[[ml_collections.ConfigDict, str], R]:
    """Decorates `train_and_evaluate(config, workdir)` (see the module docstring)."""

    @functools.wraps(train)
    def wrapper(config: ml_collections.ConfigDict, workdir: str) -> R:
        check_config(config)
        problem = out_dir_problem(workdir, "--workdir")
        if problem:
            raise NotADirectoryError(problem)
        check_inputs(config)
        if config.get("distributed", False):
            jax.distributed.initialize()
        workdir = os.path.abspath(workdir)
        top = workdir  # the highest folder this run creates, if any
        while not os.path.exists(os.path.dirname(top)):
            top = os.path.dirname(top)
        created = not os.path.exists(top)
        os.makedirs(workdir, exist_ok=True)
        name = lock_name(jax.process_index())
        try:
            with FolderLock(workdir, name):
                return train(config, workdir)
        finally:
            if created:
                _remove_if_unused(workdir, top, name)

    return wrapper


def _remove_if_unused(workdir: str, top: str, lock: str) -> None:
    """Removes the folders this run created when they hold nothing but its lock file."""
    if os.listdir(workdir) != [lock]:
        return
    os.remove(os.path.join(workdir, lock))
    folder = workdir
    while True:
        try:
            os.rmdir(folder)  # only when empty (another host's lock keeps it)
        except OSError:
            return
        if folder == top:
            return
        folder = os.path.dirname(folder)
