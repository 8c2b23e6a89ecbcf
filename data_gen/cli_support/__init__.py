"""Shared by the tools of both halves (stdlib only): flag errors, path checks, the folder lock."""
