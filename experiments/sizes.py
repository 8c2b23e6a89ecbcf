"""Experiment sizes: the test suite's tiny run, --quick, the per-synth defaults, the paper's.

Defaults are chosen so one synth's part (data generation included) of `proxy_benchmark` fits in
about an hour on the shared 2-core CPU machine; TFM is the slowest encoder by far (about 28
examples/s on dx7 at D = 192, several times faster on the 29-parameter minisub), so the training
set and epochs are set by what TFM can see in ~15 minutes, and every encoder gets the same data
and epochs (the paper's protocol: same data, same epochs, only the encoder changes).
"""

from __future__ import annotations

from experiments.cells import Sizes

# The test suite: a few hundred examples, smoke-size encoders, a few steps.
TINY = Sizes(
    name="tiny", train=256, val=128, test=160, epochs=1, runs=3, subset=128, umap_points=60,
    val_ranks=16, tiny_encoders=True, num_train_steps=8,
)  # fmt: skip
# --quick: the real encoders at a tiny size, every cell in minutes.
QUICK = Sizes(
    name="quick", train=1024, val=512, test=512, epochs=2, runs=10, subset=512, umap_points=300,
    val_ranks=128,
)  # fmt: skip
# --paper: the paper's sizes (Sec. 5.1: 10.24 M / 131,072 / 131,072, 30 epochs, 100 x 4,096),
# for accelerator pods (with --audio-model mn04, the paper's).
PAPER = Sizes(name="paper", train=10_240_000, val=131_072, test=131_072, epochs=30)
# Scaled-down defaults per synth (renders/s and TFM speed differ by synth; see the module doc).
DEFAULT = {
    # minisub renders ~40/s with 2 workers here and TFM trains on its 29 parameters ~4x faster
    # than on dx7's 100: 16k training examples x 12 epochs.
    "minisub": Sizes(name="default", train=16_384, val=4_096, test=8_192, epochs=12),
    # amsynth renders ~30/s; TFM on 34 parameters: 12k examples x 12 epochs.
    "amsynth": Sizes(name="default", train=12_288, val=4_096, test=8_192, epochs=12),
    # dx7 renders ~12-16/s (and rejects many quiet presets) and TFM sees ~28 examples/s on its
    # 100 parameters: 8k examples x 8 epochs (~40 min of TFM alone would be 67k examples).
    "dx7": Sizes(name="default", train=8_192, val=2_048, test=6_144, epochs=8),
}


def sizes_for(mode: str, synth: str) -> Sizes:
    """The sizes of `mode` ("tiny", "quick", "default", "paper") for `synth`."""
    if mode == "default":
        return DEFAULT.get(synth, DEFAULT["minisub"])
    return {"tiny": TINY, "quick": QUICK, "paper": PAPER}[mode]
