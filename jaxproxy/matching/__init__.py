"""Sound matching: metrics, audio input, rendering predicted presets, evaluation, the match tool."""
