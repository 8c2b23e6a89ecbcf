"""Tests for data_gen.synths."""
