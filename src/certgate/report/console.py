"""The rich consoles certgate prints to: results on stdout, progress and warnings on stderr."""

from __future__ import annotations

import os
import sys
from typing import IO

from rich.console import Console

__all__ = ["err_console", "out_console"]


def _width(stream: IO[str]) -> int | None:
    """Terminals report their width; for pipes and files use $COLUMNS or 120."""
    if stream.isatty():
        return None
    try:
        return max(60, int(os.environ.get("COLUMNS", "120")))
    except ValueError:
        return 120


def out_console(file: IO[str] | None = None) -> Console:
    stream = file or sys.stdout
    return Console(file=stream, highlight=False, width=_width(stream), soft_wrap=False)


def err_console(file: IO[str] | None = None) -> Console:
    stream = file or sys.stderr
    return Console(file=stream, highlight=False, width=_width(stream), soft_wrap=True)
