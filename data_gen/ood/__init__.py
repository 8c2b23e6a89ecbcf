"""Out-of-domain sound-matching targets: General MIDI notes via fluidsynth, and NSynth."""
