"""The exit codes every ``certgate`` command shares, named once (see README "Exit codes")."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """What a command's exit status means; an ``int``, so ``sys.exit(code)`` takes it as is."""

    OK = 0
    """Success, or nothing to report at the chosen threshold."""
    FINDINGS = 1
    """Findings, causes or rejections were reported."""
    BAD_INPUT = 2
    """Bad input or usage: a file could not be read, an option was wrong."""
    INTERNAL = 3
    """Internal error (a bug, or a diagnosis rule that failed): please report it."""
    INTERRUPTED = 130
    """Interrupted with Ctrl-C (128 + SIGINT, as shells report it)."""

    @classmethod
    def of(cls, failed: object) -> ExitCode:
        """``FINDINGS`` when ``failed`` is true (something was found or refused), else ``OK``."""
        return cls.FINDINGS if failed else cls.OK
