"""Sound matching's data, proxy and estimator stages (for `sound_matching`, `zoo`) as commands.

Each runs once through `experiments.common.stages.Stages` (recorded in `<workdir>/stages.json`,
skipped when rerun; an interrupted one resumes on its own).
"""

from __future__ import annotations

import glob
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.presets.presets_json import load_presets, save_presets
from experiments.common import stages as st
from jaxproxy.data.splits import random_split_lengths

FACTORY_PRESETS = {  # the synth's own preset banks (Debian packages amsynth and hexter)
    "amsynth": "/usr/share/amsynth/banks/*.bank",
    "dx7": "/usr/share/hexter/*.dx7",
}
HC_TEST_FRACTION = 0.1  # facts 4.3: HC sets split [0.9, 0.1], seed 42
SPLIT_SEED = 42
SYNTHETIC_SEEDS = {"train": 2100, "val": 2101}
SCHEDULES = {  # label -> estimator config arguments
    "PLoss": "schedule=ploss",
    "Mix": "schedule=mix",
    "Switch": "schedule=switch",
    "Switch+soft": "schedule=switch,audio_input=probs",
}


def split_presets(kept: Path, train: Path, test: Path) -> tuple[int, int]:
    """90/10 random split of a processed presets JSON (numpy permutation, seed 42), of the sizes
    torch's random_split([0.9, 0.1]) gives (facts 4.3)."""
    synth, presets = load_presets(kept)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(presets))
    num_test = random_split_lengths(len(presets), (1 - HC_TEST_FRACTION, HC_TEST_FRACTION))[1]
    test_idx, train_idx = np.sort(order[:num_test]), np.sort(order[num_test:])
    save_presets(train, synth, [presets[i] for i in train_idx])
    save_presets(test, synth, [presets[i] for i in test_idx])
    return len(train_idx), len(test_idx)


class Folders:
    """Where every stage writes, under the work folder."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.presets, self.data, self.exports = work / "presets", work / "data", work / "exports"
        self.hc_train_json = self.presets / "hc_train.json"
        self.hc_test_json = self.presets / "hc_test.json"
        # The estimator's training set (the proxy fine-tunes on it too) and its test set.
        self.hc_train, self.hc_test = self.data / "hc_train", self.data / "hc_test"
        # The fine-tuning trainer exports its best checkpoint (validation L1) itself.
        self.proxy, self.proxy_ft = self.exports / "proxy", work / "proxy_ft" / "export"

    def estimator(self, label: str) -> Path:
        return self.exports / f"estimator_{label.lower().replace('+', '_')}"

    def num_train(self) -> int:
        """Presets in the hand-crafted train split (its schedules' step counts)."""
        return len(load_presets(self.hc_train_json)[1])


def hand_crafted(run: st.Stages, f: Folders, args: Any) -> None:
    """Import and process the synth's factory presets, split 90/10."""
    files = sorted(glob.glob(FACTORY_PRESETS[args.synth]))[: 2 if args.smoke else None]
    if not files:
        raise SystemExit(f"sound_matching: no presets at {FACTORY_PRESETS[args.synth]}")
    imported, kept = f.presets / "imported.json", f.presets / "kept.json"
    run.run("import presets", st.import_presets_args(synth=args.synth, files=files,
                                                      out=str(imported)))  # fmt: skip
    run.run("process presets",
            ["data_gen.presets", "process", "--synth", args.synth, str(imported), "--out",
             str(kept), "--report", str(f.presets / "report.json"), "--workers",
             str(args.workers), "--no-progress"])  # fmt: skip
    if not run.done("split presets"):
        n_train, n_test = split_presets(kept, f.hc_train_json, f.hc_test_json)
        run.add("split presets", f"{n_train} train / {n_test} test (seed {SPLIT_SEED})", 0.0)


def datasets(run: st.Stages, f: Folders, args: Any) -> None:
    """Synthetic sets for the proxy; the hand-crafted splits with the estimator's log-mel."""
    for split, size in (("train", args.synthetic_size), ("val", args.synthetic_val_size)):
        run.run(f"generate synthetic {split}",
                st.generate_args(synth=args.synth, audio_model=args.audio_model, split=split,
                                 size=size, seed=SYNTHETIC_SEEDS[split],
                                 out=str(f.data / f"synthetic_{split}"),
                                 workers=args.workers))  # fmt: skip
    for split, presets in (("train", f.hc_train_json), ("test", f.hc_test_json)):
        command = st.preset_set_args(synth=args.synth, audio_model=args.audio_model,
                                     presets=str(presets), out=str(f.data / f"hc_{split}"),
                                     workers=args.workers)  # fmt: skip
        run.run(f"generate hand-crafted {split}", [*command, f"--split={split}", "--extras=mel"])


def pretrain_overrides(f: Folders, args: Any) -> dict[str, Any]:
    """Proxy pre-training on the synthetic set: the reference's SSM proxy at `--paper-sizes`
    (constant lr, ReduceLROnPlateau(0.1, patience 5) per epoch on the validation L1, 60 epochs
    Dexed / 50 Diva: configs/train/experiment/{dexed,diva}_tfm_mn20_mel.yaml), else the
    paper's section-5 schedule shape squeezed into the short run."""
    overrides: dict[str, Any] = {
        "train_data": f.data / "synthetic_train",
        "val_data": f.data / "synthetic_val",
        "num_epochs": args.proxy_epochs,
    }
    if args.paper_sizes:
        return {**overrides, "lr_schedule": "plateau"}
    batch = 256 if args.proxy_encoder == "tfm" else 512
    return {**overrides, **st.scaled_schedule(args.synthetic_size, batch, args.proxy_epochs)}


def finetune_overrides(f: Folders, args: Any) -> dict[str, Any]:
    """Fine-tuning on the HC train split: the config is the reference's (facts 9.6); shorter
    runs keep its warmup share (Diva: 600 of ~30k steps)."""
    overrides = {"init_from": f.proxy, "train_data": f.hc_train,
                 "num_epochs": args.finetune_epochs}  # fmt: skip
    if not (args.smoke or args.paper_sizes):
        overrides["warmup_steps"] = max(1, round(0.02 * _steps(f, args.finetune_epochs)))
    return overrides


def proxy(run: st.Stages, f: Folders, args: Any, finetune: bool = True) -> Path:
    """Pre-train the proxy on synthetic presets, fine-tune it on the HC train split (9.6);
    returns its export (the pre-trained one when `finetune` is False: no HC presets)."""
    smoke = ",smoke" if args.smoke else ""
    config = f"proxy:synth={args.synth},encoder={args.proxy_encoder},audio_model={args.audio_model}"
    workdir = str(f.work / "proxy")
    run.run("train proxy", st.train_args(config=config + smoke, workdir=workdir,
                                         overrides=pretrain_overrides(f, args)))  # fmt: skip
    run.run("export proxy", st.export_args(workdir=workdir, out=str(f.proxy)))
    if not finetune:
        return f.proxy
    run.run("fine-tune proxy",
            st.train_args(config=f"proxy_finetune:synth={args.synth},"
                                 f"audio_model={args.audio_model}" + smoke,
                          workdir=str(f.work / "proxy_ft"),
                          overrides=finetune_overrides(f, args)))  # fmt: skip
    return f.proxy_ft


def estimator_overrides(f: Folders, args: Any, proxy: Path | None = None) -> dict[str, Any]:
    """The estimator config's overrides: at `--paper-sizes` none but the data, the proxy and
    rendering the whole validation split (the reference's config, facts 9.5); shorter runs
    validate every epoch with the paper's warmup share (Diva: 1,080 of 72,384 steps) and render
    with one process per training (`--jobs` of them share the machine)."""
    overrides: dict[str, Any] = {
        "train_data": f.hc_train,
        "proxy": proxy or f.proxy_ft,
        "num_epochs": args.estimator_epochs,
        **({"channels": args.estimator_channels} if args.estimator_channels else {}),
        **({"d_final": args.estimator_d_final} if args.estimator_d_final else {}),
    }
    if args.paper_sizes:
        return {**overrides, "monitor": "a_mean", "render_val_examples": -1}
    if not args.smoke:
        overrides["warmup_steps"] = max(1, round(0.015 * _steps(f, args.estimator_epochs)))
        overrides["eval_every_epochs"] = 1
        overrides["render_workers"] = 1
    return overrides


def _estimator_command(f: Folders, args: Any, label: str, proxy: Path | None) -> list[str]:
    smoke = ",smoke" if args.smoke else ""
    config = f"estimator:synth={args.synth},{SCHEDULES[label]},audio_model={args.audio_model}"
    workdir = str(f.work / f.estimator(label).name)
    return st.train_args(config=config + smoke, workdir=workdir,
                         overrides=estimator_overrides(f, args, proxy))  # fmt: skip


def estimators(
    run: st.Stages, f: Folders, args: Any, labels: list[str], proxy: Path | None = None
) -> dict[str, Path]:
    """Train (`args.jobs` at a time: on a shared machine, more processes get more of the CPU)
    and export one estimator per schedule label, through `proxy` (default: the fine-tuned one)."""
    todo = [label for label in labels if not run.done(f"train estimator {label}")]
    for k in range(0, len(todo), max(1, args.jobs)):
        group = todo[k : k + max(1, args.jobs)]
        start = time.perf_counter()
        procs = {}
        for label in group:
            command = _estimator_command(f, args, label, proxy)
            print(f"\n=== train estimator {label}: python -m {shlex.join(command)}", flush=True)
            procs[label] = (command, subprocess.Popen([sys.executable, "-m", *command]))
        for label, (command, proc) in procs.items():
            if proc.wait() != 0:
                raise st.StageError(f"sound_matching: stage 'train estimator {label}' failed "
                                    f"with exit code {proc.returncode}")  # fmt: skip
            run.add(f"train estimator {label}", "python -m " + shlex.join(command),
                    time.perf_counter() - start)  # fmt: skip
    for label in labels:
        workdir = str(f.work / f.estimator(label).name)
        run.run(f"export estimator {label}",
                ["jaxproxy.export_estimator", f"--workdir={workdir}",
                 f"--out={f.estimator(label)}"])  # fmt: skip
    return {label: f.estimator(label) for label in labels}


def ood_targets(run: st.Stages, f: Folders, args: Any) -> Path:
    """The General MIDI notes (fluidsynth) unless `--ood-set` names a target-set folder."""
    if args.ood_set is not None:
        return args.ood_set
    out = f.data / "ood_gm"
    run.run("render General MIDI targets",
            ["data_gen.ood", "gm", "--out", str(out), "--programs", args.ood_programs,
             "--pitches", args.ood_pitches, "--velocities", args.ood_velocities,
             "--workers", str(args.workers)])  # fmt: skip
    return out


def _steps(f: Folders, epochs: int, batch: int = 64, train_fraction: float = 0.89) -> int:
    """Optimizer steps of a run on the hand-crafted train split (its 89 % training part)."""
    return epochs * max(1, int(train_fraction * f.num_train()) // batch)
