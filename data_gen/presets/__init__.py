"""Hand-crafted presets: read real preset files into spec vectors, and write vectors back."""
