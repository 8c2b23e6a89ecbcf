"""Code the experiments share: stages, proxy cells, sizes, the paper's numbers, reports, figures."""
