"""Tests for data_gen.audio."""
