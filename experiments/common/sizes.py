"""Experiment sizes: the test suite's tiny run, --quick, the per-synth defaults, the paper's.

A size flag chooses defaults, never values: `parse_sized` sets a size's flag defaults before the
flags are read, so a flag given on the command line wins over the size it is given with.
Defaults are chosen so one synth's part (data generation included) of `proxy_benchmark` fits in
an hour on the 2-core CPU machine: the training set and epochs are set by what TFM, the slowest
encoder by far, can see in about 10-15 minutes there, and every encoder gets the same data, batch
and epochs (the paper's protocol: same data, same epochs, only the encoder changes).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from experiments.common.cells import Sizes

# The test suite: a few hundred examples, smoke-size encoders, a few steps.
TINY = Sizes(
    name="tiny", train=256, val=128, test=160, epochs=1, runs=3, subset=128, umap_points=60,
    val_ranks=16, batch_size=16, tiny_encoders=True, num_train_steps=8,
)  # fmt: skip
# --quick: the real encoders at a tiny size, every cell in minutes (batch 64, so the 3 epochs
# are 48 steps rather than the 6 the paper's batch sizes would give; 16 validation queries of 32
# candidates; one hand-crafted file).
QUICK = Sizes(
    name="quick", train=1024, val=512, test=1024, epochs=3, runs=10, subset=512, umap_points=300,
    val_ranks=16, batch_size=64, hand_crafted_files=1,
)  # fmt: skip
# --paper: the paper's sizes (Sec. 5.1: 10.24 M / 131,072 / 131,072, 30 epochs, 100 x 4,096),
# for accelerator pods (with --audio-model mn04, the paper's).
PAPER = Sizes(
    name="paper", train=10_240_000, val=131_072, test=131_072, epochs=30, scale_schedule=False
)
# Scaled-down defaults per synth, sized on the quiet 2-core machine so that one synth's part,
# generation included, takes under an hour. Rendering runs at about 40/s (minisub), 30/s
# (amsynth) and 12-16/s (dx7) with 2 workers; TFM, the slowest encoder, trains at roughly 75
# examples/s on dx7's 100 parameters and several times faster on minisub's 29 and amsynth's 41.
# The paper's batch (512, TFM 256) leaves 8-32 steps per epoch on these training sets: measured on
# minisub at 6 epochs, TFM (192 steps) still predicted the mean embedding (chance MRR) and
# HN-PTGRU (96 steps) was at twice chance. Batch 64 with the paper's lr scaled by
# sqrt(64 / paper batch) gives 8x (TFM 4x) the updates for the same examples seen, at about the
# same examples/s. The validation set ranks 64 queries against 32 candidates each (the paper: 256
# against 512; 256 queries here would leave 8 candidates, a near-chance MRR that picks
# checkpoints at random).
# The test protocol takes 20 runs of 4,096 (the paper: 100) to keep evaluation in minutes.
_DEFAULT = dict(name="default", val=2_048, runs=20, val_ranks=64, batch_size=64)
DEFAULT = {
    "minisub": Sizes(train=8_192, test=5_120, epochs=15, **_DEFAULT),
    "amsynth": Sizes(train=8_192, test=5_120, epochs=15, **_DEFAULT),
    "dx7": Sizes(train=4_096, test=4_608, epochs=10, **_DEFAULT),
}


def sizes_for(mode: str, synth: str) -> Sizes:
    """The sizes of `mode` ("tiny", "quick", "default", "paper") for `synth`."""
    if mode == "default":
        return DEFAULT.get(synth, DEFAULT["minisub"])
    return {"tiny": TINY, "quick": QUICK, "paper": PAPER}[mode]


def parse_sized(
    parser: argparse.ArgumentParser,
    argv: Sequence[str],
    size_defaults: Callable[[argparse.Namespace], Mapping[str, Any]],
) -> argparse.Namespace:
    """`parser.parse_args(argv)` with the flag defaults `size_defaults` gives for the size flags
    in argv (read once to pick the size; every flag typed in argv still wins)."""
    chosen, _ = parser.parse_known_args(argv)
    parser.set_defaults(**size_defaults(chosen))
    return parser.parse_args(argv)
