"""The reference's checkpoints and datasets -> ours (`python -m jaxproxy.convert`)."""
