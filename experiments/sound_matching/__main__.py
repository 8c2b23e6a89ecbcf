"""`python -m experiments.sound_matching`: the experiment's command (`run.main`)."""

import sys

from experiments.sound_matching.run import main

if __name__ == "__main__":  # the metrics' spawn workers import __main__: they must not rerun it
    sys.exit(main())
