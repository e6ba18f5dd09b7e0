"""The rich consoles certgate prints to: results on stdout, progress and warnings on stderr.

Both are ``SafeConsole``: whatever a report forgot to pass through ``report._text.escape``, no
ESC, CR or other control character from the data reaches the terminal (rich's own styling and
cursor control are separate control segments and pass). Line feeds are left to the reports:
rich splits text into lines before this point, so a forged line can only be prevented there.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import IO, Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment

from certgate.core.visible import UNSAFE_BUT_NEWLINE, visible
from certgate.report._fit import fit
from certgate.report._layout import stream_width

__all__ = ["SafeConsole", "err_console", "out_console"]


class SafeConsole(Console):
    """A rich Console whose text segments never carry a control character but line feeds.

    Unless it soft-wraps (stderr: an error stays one line), what it prints is fitted to its
    width without cutting a token (``report._fit``): tables that cannot keep every word whole
    become lists, wrapped bullets keep their indentation."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        soft_wrap = kwargs.get("soft_wrap")
        if not (self.soft_wrap if soft_wrap is None else soft_wrap):
            options = self.options
            if kwargs.get("width"):
                options = options.update_width(kwargs["width"])
            fitted = []
            for item in objects:
                text = item
                if isinstance(item, str):
                    text = self.render_str(
                        item, markup=kwargs.get("markup"), highlight=kwargs.get("highlight")
                    )
                fitted.append(fit(self, text, options))
            objects = tuple(fitted)
        super().print(*objects, **kwargs)

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control or not UNSAFE_BUT_NEWLINE.search(segment.text):
                yield segment
            else:
                text = "\n".join(visible(part) for part in segment.text.split("\n"))
                yield Segment(text, segment.style)


def out_console(file: IO[str] | None = None) -> Console:
    stream = file or sys.stdout
    return SafeConsole(file=stream, highlight=False, width=stream_width(stream), soft_wrap=False)


def err_console(file: IO[str] | None = None) -> Console:
    stream = file or sys.stderr
    return SafeConsole(file=stream, highlight=False, width=stream_width(stream), soft_wrap=True)
