"""The rich consoles certgate prints to: results on stdout, progress and warnings on stderr.

Both are ``SafeConsole``: whatever a report forgot to pass through ``report._text.escape``, no
ESC, CR or other control character from the data reaches the terminal (rich's own styling and
cursor control are separate control segments and pass). Line feeds are left to the reports:
rich splits text into lines before this point, so a forged line can only be prevented there.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import IO

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment

from certgate.core.visible import UNSAFE_BUT_NEWLINE, visible

__all__ = ["SafeConsole", "err_console", "out_console"]


class SafeConsole(Console):
    """A rich Console whose text segments never carry a control character but line feeds."""

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control or not UNSAFE_BUT_NEWLINE.search(segment.text):
                yield segment
            else:
                text = "\n".join(visible(part) for part in segment.text.split("\n"))
                yield Segment(text, segment.style)


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
    return SafeConsole(file=stream, highlight=False, width=_width(stream), soft_wrap=False)


def err_console(file: IO[str] | None = None) -> Console:
    stream = file or sys.stderr
    return SafeConsole(file=stream, highlight=False, width=_width(stream), soft_wrap=True)
