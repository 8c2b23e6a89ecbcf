"""Test-wide settings: 8 fake CPU devices for JAX sharding code, set before any backend starts."""

import os

# Set through the environment so data_gen tests never import jax; jax reads it at backend start.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
