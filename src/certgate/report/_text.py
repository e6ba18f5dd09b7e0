"""Untrusted text into rich markup: made visible (``core.visible``), then markup-escaped.

Every report uses ``escape`` for a value it did not write (names, messages quoting names, paths,
server answers) and ``escape_lines`` for certgate's own multi-line prose; the consoles
(``report.console``) are a second line of defence that never lets ESC or CR through.
"""

from __future__ import annotations

from rich.markup import escape as _markup_escape

from certgate.core.visible import visible, visible_lines

__all__ = ["escape", "escape_lines", "visible"]


def escape(text: str) -> str:
    """One untrusted value for rich markup: controls visible, ``[`` escaped."""
    return _markup_escape(visible(text))


def escape_lines(text: str) -> str:
    """certgate's multi-line prose (line breaks kept) for rich markup."""
    return _markup_escape(visible_lines(text))
