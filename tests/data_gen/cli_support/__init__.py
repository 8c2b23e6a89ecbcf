"""Tests for data_gen.cli_support."""
