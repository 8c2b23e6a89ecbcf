"""Parameter sweeps of the audio-model ranking study (paper section 4): definitions, scores."""
