"""Training loops; each exposes `train_and_evaluate(config, workdir)`."""
