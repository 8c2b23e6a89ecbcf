"""Experiment sizes: the test suite's tiny run, --quick, the per-synth defaults, the paper's.

Defaults are chosen so one synth's part (data generation included) of `proxy_benchmark` fits in
about an hour on the shared 2-core CPU machine: the training set and epochs are set by what TFM,
the slowest encoder by far, can see in about 25 minutes there, and every encoder gets the same
data and epochs (the paper's protocol: same data, same epochs, only the encoder changes).
"""

from __future__ import annotations

from experiments.cells import Sizes

# The test suite: a few hundred examples, smoke-size encoders, a few steps.
TINY = Sizes(
    name="tiny", train=256, val=128, test=160, epochs=1, runs=3, subset=128, umap_points=60,
    val_ranks=16, batch_size=16, tiny_encoders=True, num_train_steps=8,
)  # fmt: skip
# --quick: the real encoders at a tiny size, every cell in minutes (batch 64, so the 3 epochs
# are 48 steps rather than the 6 the paper's batch sizes would give; one hand-crafted file).
QUICK = Sizes(
    name="quick", train=1024, val=512, test=1024, epochs=3, runs=10, subset=512, umap_points=300,
    val_ranks=128, batch_size=64, hand_crafted_files=1,
)  # fmt: skip
# --paper: the paper's sizes (Sec. 5.1: 10.24 M / 131,072 / 131,072, 30 epochs, 100 x 4,096),
# for accelerator pods (with --audio-model mn04, the paper's).
PAPER = Sizes(
    name="paper", train=10_240_000, val=131_072, test=131_072, epochs=30, scale_schedule=False
)
# Scaled-down defaults per synth, measured on the shared 2-core machine (load 15-20 from the
# other jobs while these ran): rendering there runs at a fraction of its quiet speed (minisub
# ~40/s, amsynth ~30/s, dx7 ~12-16/s with 2 workers when quiet), TFM is the slowest encoder
# (~28 examples/s on dx7's 100 parameters when quiet; several times faster on minisub's 29),
# and the test protocol takes 20 runs of 4,096 (the paper: 100) to keep evaluation in minutes.
DEFAULT = {
    "minisub": Sizes(
        name="default",
        train=8_192,
        val=2_048,
        test=5_120,
        epochs=6,
        runs=20,
    ),  # fmt: skip
    "amsynth": Sizes(
        name="default",
        train=6_144,
        val=2_048,
        test=5_120,
        epochs=6,
        runs=20,
    ),  # fmt: skip
    "dx7": Sizes(name="default", train=4_096, val=2_048, test=4_608, epochs=6, runs=20),
}


def sizes_for(mode: str, synth: str) -> Sizes:
    """The sizes of `mode` ("tiny", "quick", "default", "paper") for `synth`."""
    if mode == "default":
        return DEFAULT.get(synth, DEFAULT["minisub"])
    return {"tiny": TINY, "quick": QUICK, "paper": PAPER}[mode]
