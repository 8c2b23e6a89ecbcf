"""Experiment cells (synth x audio model x encoder) as resumable stages, shared by the experiments.

One dataset per (synth, audio model, sizes) is generated once and shared by every encoder (and by
every experiment using the same data root). Per encoder: train, export the best-MRR checkpoint,
run the test protocol on the synthetic test set (and on the hand-crafted set when the synth has
one), then draw its figures. Each step is a stage of `experiments.common.stages.Stages`.
"""

from __future__ import annotations

import glob
import json
import math
import os
from dataclasses import asdict, dataclass

from experiments.common import stages

# The paper's seeds (facts 2.7 / data_gen PAPER_PRESETS): train 500, val 401, test 600.
SEEDS = {"train": 500, "val": 401, "test": 600}
# Hand-crafted preset files installed with the synths (Debian packages hexter and amsynth).
HAND_CRAFTED = {
    "dx7": "/usr/share/hexter/*.dx7",
    "amsynth": "/usr/share/amsynth/banks/*.bank",
}
NO_HAND_CRAFTED_NOTE = {
    "minisub": "minisub is this project's own Faust synth: it has no hand-crafted presets, so it "
    "has no hand-crafted test set.",
}


@dataclass(frozen=True)
class Sizes:
    """How big one synth's part is: dataset sizes, epochs, test protocol."""

    name: str
    train: int
    val: int
    test: int
    epochs: int
    runs: int = 100  # test protocol: random subsets ...
    subset: int = 4096  # ... of this many examples (all of them when the set is smaller)
    umap_points: int = 1000
    # Validation MRR queries (facts 7.1): each ranks val // val_ranks candidates (the paper's
    # 131,072 / 256 = 512); a small validation set needs fewer queries, or its MRR is near chance.
    val_ranks: int = 256
    batch_size: int = 0  # > 0 replaces the paper's 512 (TFM 256): more updates per example seen
    # With batch_size set, the paper's Adam learning rate is scaled by sqrt(batch / paper batch)
    # (the square-root rule for Adam), so a smaller batch takes smaller, more frequent steps.
    sqrt_lr_scaling: bool = True
    scale_schedule: bool = True  # the paper's LR schedule shape over this run (False: as is)
    hand_crafted_files: int = 0  # > 0: only the first few hand-crafted preset files
    tiny_encoders: bool = False  # the config's smoke-size encoders (test suite only)
    num_train_steps: int = -1  # > 0 stops early (test suite only)

    def describe(self) -> str:
        steps = f", {self.num_train_steps} steps" if self.num_train_steps > 0 else ""
        if self.batch_size:
            steps += f", batch {self.batch_size}"
            steps += " (the paper's lr x sqrt(batch / paper batch))" if self.sqrt_lr_scaling else ""
        return (
            f"{self.train:,} train / {self.val:,} val / {self.test:,} test examples, "
            f"{self.epochs} epochs{steps}; test protocol {self.runs} runs x {self.subset:,}"
            + (" (smoke-size encoders)" if self.tiny_encoders else "")
        )


@dataclass(frozen=True)
class Part:
    """Where one (synth, audio model) part of an experiment lives."""

    synth: str
    audio_model: str
    sizes: Sizes
    data_root: str  # shared datasets
    workdir: str  # this experiment's runs
    results: str  # the results folder (tables, PNG, JSON)
    workers: int

    @property
    def data_dir(self) -> str:
        s = self.sizes
        return os.path.join(
            self.data_root, f"{self.synth}_{self.audio_model}_{s.train}_{s.val}_{s.test}"
        )

    def run_dir(self, encoder: str) -> str:
        return os.path.join(
            self.workdir, "runs", f"{self.synth}_{self.audio_model}_{self.sizes.name}_{encoder}"
        )


def has_hand_crafted(synth: str) -> bool:
    return synth in HAND_CRAFTED and bool(glob.glob(HAND_CRAFTED[synth]))


def generate_data(run: stages.Stages, part: Part, hand_crafted: bool = True) -> dict[str, str]:
    """Generates the synthetic splits (and the hand-crafted set); returns test name -> folder."""
    s = part.sizes
    for split, size in (("train", s.train), ("val", s.val), ("test", s.test)):
        run.run(
            f"generate {part.synth} {part.audio_model} {split} ({size})",
            stages.generate_args(
                synth=part.synth, audio_model=part.audio_model, split=split, size=size,
                seed=SEEDS[split], out=os.path.join(part.data_dir, split), workers=part.workers,
            ),
        )  # fmt: skip
    tests = {"synthetic": os.path.join(part.data_dir, "test")}
    if hand_crafted and has_hand_crafted(part.synth):
        files = sorted(glob.glob(HAND_CRAFTED[part.synth]))
        name = f"{part.synth}_hand_crafted"
        if s.hand_crafted_files:
            files = files[: s.hand_crafted_files]
            name += f"_{len(files)}files"
        imported = os.path.join(part.data_root, f"{name}.json")
        run.run(
            f"import {part.synth} hand-crafted presets ({len(files)} files)",
            stages.import_presets_args(synth=part.synth, files=files, out=imported),
        )
        hc_dir = os.path.join(part.data_root, f"{name}_{part.audio_model}")
        run.run(
            f"generate {part.synth} {part.audio_model} hand-crafted ({len(files)} files)",
            stages.preset_set_args(
                synth=part.synth, audio_model=part.audio_model, presets=imported, out=hc_dir,
                workers=part.workers,
            ),
        )  # fmt: skip
        tests["hand-crafted"] = hc_dir
    return tests


def paper_batch_size(encoder: str) -> int:
    """The paper's batch size (facts 6.3): 512, TFM 256."""
    return 256 if encoder == "tfm" else 512


def train_overrides(part: Part, encoder: str) -> dict[str, object]:
    """Config overrides: this part's data and length, the paper's schedule shape scaled to it."""
    s = part.sizes
    batch = s.batch_size or min(paper_batch_size(encoder), s.train)
    overrides = {
        "train_data": os.path.join(part.data_dir, "train"),
        "val_data": os.path.join(part.data_dir, "val"),
        "batch_size": batch,
        "num_epochs": s.epochs,
        "num_train_steps": s.num_train_steps,
        "eval_every_steps": -1,  # the paper validates twice per epoch (facts 6.6)
        "evals_per_epoch": 2,
        "eval_batch_size": min(256, s.val),
        "val_num_ranks": s.val_ranks,
    }
    if s.batch_size and s.sqrt_lr_scaling:
        paper_lr = stages.load_config(train_config(part, encoder)).lr
        overrides["lr"] = paper_lr * math.sqrt(batch / paper_batch_size(encoder))
    if s.scale_schedule:  # short runs: log and checkpoint often, the schedule's shape scaled
        overrides["log_every_steps"] = max(1, s.train // batch // 4)
        overrides["checkpoint_every_steps"] = max(1, s.train // batch)
        overrides.update(stages.scaled_schedule(s.train, batch, s.epochs))
    return overrides


def train_config(part: Part, encoder: str) -> str:
    """The packaged config and its argument, e.g. "proxy:synth=dx7,encoder=tfm,audio_model=mn04"."""
    config = f"proxy:synth={part.synth},encoder={encoder},audio_model={part.audio_model}"
    return config + (",smoke" if part.sizes.tiny_encoders else "")


def check_part(part: Part, encoders: list[str]) -> None:
    """Raises ValueError naming the knob if any encoder could not train at these sizes."""
    for encoder in encoders:
        try:
            stages.check_train_config(
                train_config(part, encoder), train_overrides(part, encoder), part.sizes.train,
                part.sizes.val,
            )  # fmt: skip
        except ValueError as e:
            raise ValueError(f"{part.synth} {encoder} at {part.sizes.name} sizes: {e}") from None


def run_cell(
    run: stages.Stages, part: Part, encoder: str, tests: dict[str, str], max_steps: int = 0
) -> dict:
    """Trains, exports and evaluates one encoder; returns its numbers (figures come later).

    `max_steps` > 0 stops training there (a time budget): the schedule stays the full run's, so
    the learning rate has not annealed; the results say how many steps ran.
    """
    s = part.sizes
    cell = f"{part.synth} {part.audio_model} {encoder}"
    run_dir = part.run_dir(encoder)
    train_dir, export_dir = os.path.join(run_dir, "train"), os.path.join(run_dir, "export")
    config = train_config(part, encoder)
    overrides = train_overrides(part, encoder)
    if max_steps > 0:
        overrides["num_train_steps"] = max_steps
    run.run(
        f"train {cell}",
        stages.train_args(config=config, workdir=train_dir, overrides=overrides),
    )
    run.run(f"export {cell}", stages.export_args(workdir=train_dir, out=export_dir))
    evals = {}
    for test, data in tests.items():
        out = os.path.join(run_dir, f"eval_{test}.json")
        run.run(
            f"evaluate {cell} on {test}",
            stages.evaluate_args(
                proxy=export_dir, data=data, out=out, runs=s.runs, subset_size=s.subset
            ),
        )
        with open(out) as f:
            evals[test] = json.load(f)
    hc = evals.get("hand-crafted")
    if hc is not None and hc["num_examples"] < min(s.subset, evals["synthetic"]["num_examples"]):
        # A smaller candidate pool makes retrieval easier (paper Sec. 6.1): compare the
        # hand-crafted MRR with the synthetic MRR at the same pool size too.
        out = os.path.join(run_dir, "eval_synthetic_matched.json")
        run.run(
            f"evaluate {cell} on synthetic, {hc['num_examples']} per subset",
            stages.evaluate_args(
                proxy=export_dir, data=tests["synthetic"], out=out, runs=s.runs,
                subset_size=hc["num_examples"],
            ),
        )  # fmt: skip
        with open(out) as f:
            evals["synthetic-matched"] = json.load(f)
    with open(os.path.join(train_dir, "config.json")) as f:
        resolved = json.load(f)
    return {
        "synth": part.synth,
        "audio_model": part.audio_model,
        "encoder": encoder,
        "train_dir": train_dir,
        "batch_size": resolved["batch_size"],
        "planned_steps": s.epochs * (s.train // resolved["batch_size"]),
        "max_steps": max_steps,
        "lr": resolved["lr"],
        "export_dir": export_dir,
        "evaluations": evals,
    }


def figures_name(part: Part, encoder: str) -> str:
    return f"{part.audio_model}_{encoder}"


def draw_figures(
    run: stages.Stages, part: Part, results: list[dict], tests: dict[str, str]
) -> None:
    """Draws every cell's figures in one process and adds their numbers to the cells."""
    s = part.sizes
    args = [
        "experiments.common.figures",
        f"--title-prefix={part.synth} ",
        f"--out-dir={part.results}",
    ]
    for c in results:
        args += [f"--name={figures_name(part, c['encoder'])}", f"--train-dir={c['train_dir']}",
                 f"--proxy={c['export_dir']}"]  # fmt: skip
    args += [*(f"--test={t}={d}" for t, d in tests.items())]
    args += [f"--points={s.umap_points}", f"--subset-size={s.subset}"]
    if "hand-crafted" in tests:
        args.append(f"--audio-gap={part.audio_model}")
    encoders = ",".join(c["encoder"] for c in results)
    run.run(f"figures {part.synth} {part.audio_model} {encoders}", args)
    for c in results:
        path = os.path.join(part.results, f"{figures_name(part, c['encoder'])}_figures.json")
        with open(path) as f:
            c["figures"] = json.load(f)


def audio_gap(part: Part) -> dict | None:
    """The synthetic vs hand-crafted audio-embedding gap `draw_figures` measured, if any."""
    path = os.path.join(part.results, f"{part.audio_model}_audio_gap.json")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def part_facts(part: Part) -> dict[str, object]:
    """The sizes and folders of a part, for the results JSON."""
    return {"synth": part.synth, "audio_model": part.audio_model, "sizes": asdict(part.sizes)}
