"""Sound matching end to end: a proxy, estimators for PLoss / Mix / Switch / soft input, evaluation.

python -m experiments.sound_matching --workdir=runs/sound_matching            # about an hour here
python -m experiments.sound_matching --workdir=runs/sm_paper --paper-sizes    # the reference's runs

Stages (`experiments.common.ssm_stages`; each runs once, a rerun continues where one stopped):
1. the synth's factory presets, processed as the paper does, split 90/10 (seed 42, facts 4.3);
2. datasets: synthetic presets for the proxy; the hand-crafted train and test splits with the
   estimator's log-mel (`--extras mel`);
3. the proxy: pre-trained on the synthetic set, fine-tuned on the hand-crafted train split (9.6);
4. one estimator per schedule: PLoss, Mix, Switch (facts 9.4) and Switch with soft proxy inputs;
5. out-of-domain targets: General MIDI notes rendered by fluidsynth (or `--ood-set`, e.g. NSynth);
then, in this process (`evaluate.py`): every estimator on the hand-crafted test split
and the out-of-domain targets, predictions rendered by the render service at 32 kHz, `--refine`
through the proxy on the out-of-domain targets, audio examples; and the results folder
(`report.py`): the paper's Tables 5-6 layout with its numbers beside ours, bar charts.

Defaults (scaled down to about an hour on the shared 2-core machine): amsynth (3,261 factory
presets kept: 2,935 train, 326 test), mel128 targets, an HN-OH proxy on 4,096 synthetic presets,
quarter-width estimator CNNs (269k parameters) for 3 epochs validated every epoch on rendered
audio (the reference's a_mean drives their LR plateau and the exported checkpoint), 160 of the
in-domain test presets, every second GM program (64) at note 60. `--paper-sizes` runs the
reference's configs (`ssm_stages.*_overrides`, tested field by field against its files).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experiments.common import ssm_stages
from experiments.common.sizes import parse_sized
from experiments.common.ssm_stages import FACTORY_PRESETS, SCHEDULES, Folders
from experiments.common.stages import StageError, Stages, command_line, portable_path
from experiments.sound_matching import evaluate, report
from jaxproxy.configs.estimator import PAPER_SYNTH

QUARTER_WIDTH = "(2,4,8,16,32,64,128)"  # the paper's CNN is (8, ..., 512) with d_final 2048
# The reference's SSM proxy pre-training epochs (configs/train/experiment/*_tfm_mn20_mel.yaml).
PAPER_PRETRAIN_EPOCHS = {"dexed": 60, "diva": 50}


def _folder(text: str) -> Path:
    """A folder flag, relative to where the command runs (the results record it)."""
    return Path(portable_path(text))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.sound_matching",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--workdir", type=_folder, default=Path("runs/sound_matching"))
    add("--results", type=_folder, default=None, help="results folder (default: WORKDIR/results)")
    add("--synth", default="amsynth", choices=sorted(FACTORY_PRESETS))
    add("--audio-model", default="mel128", help="proxy target (the paper's: mn20_mel)")
    add("--proxy-encoder", default="hn_oh", help="the paper's: tfm (slow on CPU)")
    add("--synthetic-size", type=int, default=4096, help="proxy pre-training set")
    add("--synthetic-val-size", type=int, default=2048)
    add("--proxy-epochs", type=int, default=12)
    add("--finetune-epochs", type=int, default=10, help="proxy fine-tuning on the HC train split")
    add("--estimator-epochs", type=int, default=3)
    add("--estimator-channels", default=QUARTER_WIDTH, help="'' for the paper's CNN")
    add("--estimator-d-final", type=int, default=512, help="0 for the paper's 2048")
    add("--schedules", default=",".join(SCHEDULES), help=f"subset of {list(SCHEDULES)}")
    add("--id-limit", type=int, default=160, help="in-domain test examples scored (0: all)")
    add("--ood-programs", default=",".join(map(str, range(0, 128, 2))),
        help="GM programs of the out-of-domain set (default: every second one)")  # fmt: skip
    add("--ood-pitches", default="60", help="the paper renders predictions at note 60")
    add("--ood-velocities", default="100")
    add(
        "--ood-set", type=_folder, default=None, help="a target-set folder (python -m data_gen.ood)"
    )
    add("--refine-steps", type=int, default=30, help="--refine on the OOD set (0: skip)")
    add("--refine-candidates", type=int, default=8, help="presets --refine renders per note")
    add("--examples", type=int, default=4, help="audio examples per domain")
    add("--workers", type=int, default=os.cpu_count() or 1)
    add("--jobs", type=int, default=2, help="estimator trainings at a time")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--paper-sizes", action="store_true",
        help="the reference's SSM runs: TFM proxy on 2.56M synthetic presets (LR plateau, "
             "60 epochs Dexed / 50 Diva), fine-tuned 250 epochs, its CNN for 600 epochs "
             "validated every 10 on rendered audio, every GM note (NSynth: --ood-set)")  # fmt: skip
    size.add_argument(
        "--smoke", action="store_true", help="tiny everything (the test suite runs this)"
    )
    return parser


def _size_defaults(args: argparse.Namespace) -> dict[str, Any]:
    """The flag defaults `--paper-sizes` or `--smoke` stand for (none for the default size)."""
    if args.paper_sizes:  # the reference's SSM runs (facts 9.5-9.6; see ssm_stages)
        return dict(
            proxy_encoder="tfm", synthetic_size=2_560_000, synthetic_val_size=131_072,
            proxy_epochs=PAPER_PRETRAIN_EPOCHS[PAPER_SYNTH[args.synth]], finetune_epochs=250,
            estimator_epochs=600, estimator_channels="", estimator_d_final=0, id_limit=0,
            ood_programs="0-127", ood_pitches="48,60,72", ood_velocities="64,100",
        )  # fmt: skip
    if args.smoke:  # the smoke configs bring their own tiny networks
        return dict(
            synthetic_size=256, synthetic_val_size=128, proxy_epochs=1, finetune_epochs=1,
            estimator_epochs=1, estimator_channels="", estimator_d_final=0, ood_programs="0,73",
            refine_steps=3, examples=1,
        )  # fmt: skip
    return {}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The flags, with the defaults of the size chosen (a flag typed in argv wins over its size)."""
    return parse_sized(_parser(), argv, _size_defaults)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    labels = [s for s in args.schedules.split(",") if s]
    unknown = [s for s in labels if s not in SCHEDULES]
    if unknown:
        print(f"sound_matching: unknown schedules {unknown}; known: {list(SCHEDULES)}")
        return 2
    folders = Folders(args.workdir)
    run = Stages(str(args.workdir), "sound_matching")
    try:
        ssm_stages.hand_crafted(run, folders, args)
        ssm_stages.datasets(run, folders, args)
        proxy = ssm_stages.proxy(run, folders, args)
        estimators = ssm_stages.estimators(run, folders, args, labels)
        ood = ssm_stages.ood_targets(run, folders, args)
    except StageError as err:
        print(err, file=sys.stderr)
        return 1
    start = time.perf_counter()
    results = evaluate.evaluate_all(args, estimators, folders.data / "hc_test", ood, proxy)
    run.add(
        "evaluate", "experiments.sound_matching.evaluate.evaluate_all", time.perf_counter() - start
    )
    results["command"] = command_line("experiments.sound_matching", argv)
    results["stages_s"] = {name: r["seconds"] for name, r in run.record.items()}
    path = report.write_report(args.results or args.workdir / "results", results)
    print(path.read_text())
    return 0
