"""The paper's experiments, run from the repository root; `experiments/README.md` lists them."""
