"""Synthesizer specs: what each parameter is, how it is sampled and how it reaches the renderer."""
