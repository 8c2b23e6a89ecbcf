"""Sound-matching training curves: several estimator runs' losses in one PNG.

    python -m experiments.sound_matching.curves --out docs/estimator_curves.png \
        switch=runs/ssm_switch ploss=runs/ssm_ploss
"""

from __future__ import annotations

import argparse
import os

from experiments.common import plots

PANELS = (
    ("train/loss_a", "train audio-embedding L1 (L_a)"),
    ("train/loss_p", "train parameter loss (L_p)"),
    ("val/a_l1", "val L_a (hard decoding)"),
    ("val/loss_p", "val L_p"),
)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="label=workdir")
    parser.add_argument("--out", required=True)
    parser.add_argument("--title", default="estimator training")
    args = parser.parse_args(argv)
    runs = {}
    for item in args.runs:
        label, _, workdir = item.partition("=")
        tb = os.path.join(workdir, "tensorboard")
        if not os.path.isdir(tb):
            raise SystemExit(f"{item}: {tb} is missing (expected label=estimator_workdir)")
        runs[label] = plots.read_run_curves(tb)
    print(plots.plot_curve_overlay(runs, args.out, args.title, PANELS, log_panels=4))


if __name__ == "__main__":
    main()
