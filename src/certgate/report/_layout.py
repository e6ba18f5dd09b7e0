"""Layout helpers that need no rich: the width of a stream and packed reference lines.

Kept apart from ``report._fit`` and ``report.console`` so that ``certgate explain`` writing to a
pipe or a file (``report.explain_plain``) starts without importing rich.
"""

from __future__ import annotations

import os
from typing import IO

__all__ = ["pack", "stream_width"]


def stream_width(stream: IO[str]) -> int | None:
    """Terminals report their width; for pipes and files use $COLUMNS or 120."""
    if stream.isatty():
        return None
    try:
        return max(60, int(os.environ.get("COLUMNS", "120")))
    except ValueError:
        return 120


def pack(items: list[str], width: int, first: str, separator: str) -> list[str]:
    """``items`` joined by ``separator`` into lines of at most ``width`` columns, the first line
    starting with ``first``, the others indented as deep: never split, so an item longer than a
    line (a long URL) stands alone on a line of its own, whole, to be clicked or copied."""
    lines: list[str] = []
    line = first
    indent = " " * len(first)
    for index, item in enumerate(items):
        piece = item + (separator.rstrip() if index < len(items) - 1 else "")
        if line.strip() and len(line) + len(piece) > width:
            lines.append(line.rstrip())
            line = indent
        line += piece + (" " if index < len(items) - 1 else "")
    if line.strip():
        lines.append(line.rstrip())
    return lines
