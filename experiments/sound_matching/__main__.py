"""`python -m experiments.sound_matching`: the experiment's command (`run.main`)."""

import sys

from experiments.sound_matching.run import main

sys.exit(main())
