"""The one error type preset readers raise, and the strict/lenient switch they share."""

from __future__ import annotations

import warnings


class PresetFileError(ValueError):
    """A preset file (or one preset inside it) that cannot be read as what it claims to be."""

    def __init__(self, source: str, message: str, item: str | None = None) -> None:
        self.source = str(source)
        self.item = item
        self.message = message
        where = f"{self.source}: {item}" if item else self.source
        super().__init__(f"{where}: {message}")


class PresetWarning(UserWarning):
    """A problem skipped because the caller asked for a lenient import."""


def problem(lenient: bool, source: str, message: str, item: str | None = None) -> None:
    """Raise `PresetFileError`, or warn when `lenient` (the caller then skips the item)."""
    error = PresetFileError(source, message, item)
    if not lenient:
        raise error
    warnings.warn(str(error), PresetWarning, stacklevel=3)
