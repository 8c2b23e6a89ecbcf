"""Resumable experiment stages: each one is a `python -m ...` command run once in its own process.

data_gen (PyTorch + DawDreamer) and jaxproxy (JAX) meet only through the dataset on disk, so every
stage is a separate process. `Stages` records each finished stage with its exact command and
duration in `<workdir>/stages.json`; rerunning an experiment skips the finished stages and reruns
the interrupted one, which resumes on its own (generation continues after its last complete shard,
training from its latest checkpoint). The command builders below are shared by every experiment.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ml_collections

RECORD_FILE = "stages.json"


def portable_path(path: str | os.PathLike) -> str:
    """A folder flag's value as experiments use and record it: an absolute path made relative to
    the current directory (where the command runs), so results name no folder of the machine."""
    return os.path.relpath(path) if os.path.isabs(path) else os.fspath(path)


def command_line(module: str, argv: Sequence[str]) -> str:
    """`python -m module ARGS` as a user types it, with absolute paths (`PATH`, `--flag=PATH`)
    relative to the current directory, as `portable_path` makes the folders themselves."""
    words = []
    for word in argv:
        flag, eq, value = word.partition("=") if word.startswith("-") else ("", "", word)
        words.append(flag + eq + portable_path(value) if os.path.isabs(value) else word)
    return shlex.join(["python", "-m", module, *words])


class StageError(RuntimeError):
    """A stage's command exited with an error."""


class Stages:
    """Runs named stages once each, recording command and seconds in `<workdir>/stages.json`."""

    def __init__(self, workdir: str, prog: str):
        self.workdir = workdir
        self.prog = prog
        self.path = os.path.join(workdir, RECORD_FILE)
        os.makedirs(workdir, exist_ok=True)
        self.record: dict[str, dict[str, Any]] = {}
        if os.path.isfile(self.path):
            with open(self.path) as f:
                self.record = json.load(f)

    def done(self, name: str) -> bool:
        return name in self.record

    def run(self, name: str, args: Sequence[str], *, env: Mapping[str, str] | None = None) -> float:
        """Runs `python -m args` unless stage `name` finished before; returns its seconds.

        Raises StageError naming the stage and its exit code if the command fails (nothing is
        recorded then, so the next run retries it).
        """
        command = "python -m " + shlex.join(args)
        if self.done(name):
            print(f"=== {name}: done before, skipped", flush=True)
            return float(self.record[name]["seconds"])
        print(f"\n=== {name}: {command}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", *args],
            check=False,
            env=None if env is None else {**os.environ, **env},
        )
        if proc.returncode != 0:
            raise StageError(f"{self.prog}: stage '{name}' failed with exit code {proc.returncode}")
        seconds = time.perf_counter() - start
        self.record[name] = {"command": command, "seconds": round(seconds, 1)}
        self._save()
        return seconds

    def add(self, name: str, command: str, seconds: float) -> None:
        """Records an in-process stage (e.g. writing a table) that has finished."""
        self.record[name] = {"command": command, "seconds": round(seconds, 1)}
        self._save()

    def _save(self) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.record, f, indent=2)
        os.replace(tmp, self.path)


def generate_args(
    *,
    synth: str,
    audio_model: str,
    split: str,
    size: int,
    seed: int,
    out: str,
    workers: int,
    progress: bool = False,
) -> list[str]:
    """`data_gen.generate` for one synthetic split (both the TFRecord and ArrayRecord formats)."""
    return [
        "data_gen.generate", f"--synth={synth}", f"--audio-model={audio_model}", f"--split={split}",
        f"--size={size}", f"--seed={seed}", f"--out={out}", "--formats=tfrecord,array_record",
        f"--workers={workers}", *([] if progress else ["--no-progress"]),
    ]  # fmt: skip


def import_presets_args(*, synth: str, files: Sequence[str], out: str) -> list[str]:
    """`data_gen.presets import`: hand-crafted preset files -> a presets JSON."""
    return ["data_gen.presets", "import", f"--synth={synth}", *files, f"--out={out}"]


def preset_set_args(
    *, synth: str, audio_model: str, presets: str, out: str, workers: int
) -> list[str]:
    """`data_gen.generate presets`: the paper's processing, render, RMS filter, dataset folder."""
    return [
        "data_gen.generate", "presets", f"--synth={synth}", f"--audio-model={audio_model}",
        f"--presets={presets}", f"--out={out}", "--formats=tfrecord,array_record",
        f"--workers={workers}", "--no-progress",
    ]  # fmt: skip


def scaled_schedule(
    train_size: int, batch_size: int, epochs: float, constant_epochs: float = 0.5
) -> dict[str, float]:
    """The paper's LR schedule shape over a short run (facts 6.4), as config overrides.

    Constant for `constant_epochs`, cosine to a third of the run, full restart, cosine to the
    end: the paper's 30 epochs have the restart at epoch 10 and the end at epoch 30.
    """
    steps_per_epoch = max(1, train_size // batch_size)
    decay_end_step = int(epochs / 3 * steps_per_epoch)
    constant = min(round(constant_epochs * steps_per_epoch), decay_end_step // 2)
    return {
        "schedule.constant_steps": max(1, constant),
        "schedule.decay_end_epoch": epochs / 3,
        "schedule.restart_end_epoch": epochs,
    }


def train_args(*, config: str, workdir: str, overrides: Mapping[str, Any]) -> list[str]:
    """`jaxproxy.main` with `--config.KEY=VALUE` overrides (it resumes from its checkpoints)."""
    return [
        "jaxproxy.main", f"--config={config}", f"--workdir={workdir}",
        *(f"--config.{k}={v}" for k, v in overrides.items()),
    ]  # fmt: skip


def load_config(config: str) -> ml_collections.ConfigDict:
    """A packaged config by name and argument, e.g. `"proxy:synth=dx7,encoder=tfm"`."""
    name, _, arg = config.partition(":")
    return importlib.import_module(f"jaxproxy.configs.{name}").get_config(arg or None)


def check_train_config(
    config: str, overrides: Mapping[str, Any], num_train: int, num_val: int
) -> ml_collections.ConfigDict:
    """Loads a packaged config (`"proxy:encoder=tfm"`), applies the overrides, checks the sizes.

    Raises ValueError naming the knob when training would stop (no whole batch, too few
    validation examples for the MRR, schedule phases that do not fit), before anything runs.
    Returns the resolved config.
    """
    from jaxproxy.trainers.proxy import check_sizes

    cfg = load_config(config)
    for field, value in overrides.items():
        *parents, leaf = field.split(".")
        node = cfg
        for parent in parents:
            node = node[parent]
        node[leaf] = value
    check_sizes(cfg, num_train, num_val)
    return cfg


def export_args(*, workdir: str, out: str, checkpoint: str = "best_mrr") -> list[str]:
    return ["jaxproxy.export", f"--workdir={workdir}", f"--out={out}", f"--checkpoint={checkpoint}"]


def evaluate_args(*, proxy: str, data: str, out: str, runs: int, subset_size: int) -> list[str]:
    """`jaxproxy.evaluate`: the paper's test protocol (facts 7.2) written to a JSON file."""
    return [
        "jaxproxy.evaluate", f"--proxy={proxy}", f"--data={data}", f"--out={out}",
        f"--runs={runs}", f"--subset_size={subset_size}",
    ]  # fmt: skip


def add_size_and_folder_flags(parser: argparse.ArgumentParser, workdir: str) -> None:
    """The flags the table experiments share: a size (--quick, --paper; --tiny for the tests),
    where runs, shared datasets and results go, and the render workers."""
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="every cell at a tiny size (minutes)")
    size.add_argument("--paper", action="store_true", help="the paper's sizes (accelerators)")
    size.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # the test suite
    # Folders relative to where the command runs: the results record them and must travel.
    add_folder = functools.partial(parser.add_argument, type=portable_path)
    add_folder("--workdir", default=workdir, help="runs and stages.json")
    add_folder("--data-root", default="runs/experiment_data", help="shared datasets")
    add_folder("--results", default=None, help="default <workdir>/results")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
