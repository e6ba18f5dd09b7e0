"""certgate's exceptions: one root, each with a one-line, human ``diagnostics()``.

Exceptions are for I/O and misuse only. A certificate that fails a check, a store with
findings, a rejected chain: those are results, never exceptions.
"""

from __future__ import annotations

__all__ = [
    "CertgateError",
    "InputError",
    "OutputError",
    "UsageError",
]


class CertgateError(Exception):
    """Root of every error certgate raises on purpose."""

    def diagnostics(self) -> str:
        """One line for a human: what is wrong, and where."""
        return str(self)


class InputError(CertgateError):
    """A file (or other input) could not be read or understood.

    ``where`` locates the problem inside the input: a byte offset, a line, a PEM block.
    """

    def __init__(self, path: str, message: str, where: str | None = None) -> None:
        self.path = path
        self.message = " ".join(message.split())  # parsers' messages may span lines
        self.where = where
        super().__init__(self.diagnostics())

    def diagnostics(self) -> str:
        location = f" (at {self.where})" if self.where else ""
        return f"{self.path}: {self.message}{location}"


class UsageError(CertgateError):
    """The caller asked for something that cannot be done (bad option value, bad combination)."""


class OutputError(CertgateError):
    """An output (a named file, or standard output) could not be written; nothing half-written
    is left behind under the target name."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = " ".join(message.split())
        super().__init__(self.diagnostics())

    def diagnostics(self) -> str:
        return f"{self.path}: cannot be written: {self.message}"
