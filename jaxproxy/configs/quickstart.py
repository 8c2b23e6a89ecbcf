"""Quick-start proxy: the embedded minisub synth, mel128 embeddings, HN-OH, a few minutes on CPU.

Command (experiments.quickstart runs it after generating the data):

  jaxproxy train --config=quickstart --workdir=runs/quickstart/train \
      --config.train_data=runs/quickstart/data/train --config.val_data=runs/quickstart/data/val

Argument: an optional encoder name (`quickstart:tfm`) or proxy-style arguments
(`quickstart:synth=dx7,encoder=tfm,audio_model=mfcc40`; the synth picks the paper
hyperparameters as in `proxy`). Expected result: the
validation MRR climbs well above chance (1/num_candidates) within the first epochs; the figures
measured here are in the README.
"""

import ml_collections

from jaxproxy.configs import proxy


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """The paper's recipe for `encoder` on minisub, shrunk to ~16k examples and 20 epochs."""
    args = "synth=minisub,encoder=hn_oh,audio_model=mel128"
    if arg:
        args += "," + (arg if "=" in arg else f"encoder={arg}")  # later keys win
    config = proxy.get_config(args)
    config.train_data = "runs/quickstart/data/train"
    config.val_data = "runs/quickstart/data/val"
    config.batch_size = 256
    config.num_epochs = 20
    # The paper's schedule shape (constant, cosine to epoch 1/3, restart, cosine to the end),
    # with a constant phase of half an epoch (64 steps per epoch instead of 20,000).
    config.schedule.constant_steps = 32
    config.schedule.decay_end_epoch = 7.0
    config.schedule.restart_end_epoch = 20.0
    config.eval_batch_size = 256
    config.val_num_ranks = 256
    config.log_every_steps = 64
    config.checkpoint_every_steps = 256
    return config
