"""The one rendering of untrusted text for people: every control character made visible.

Certificate names, a server's CA names, friendly names, log lines and file names come from
whoever made them. Printed raw, ESC starts a terminal escape sequence (colours, cursor moves,
window titles, hyperlinks), CR rewrites the current line and LF forges a new one; bidi
overrides reorder what is read (CVE-2021-42574). ``visible`` shows each such character as a
Python-style escape (``\\x1b``, ``\\r``, ``\\n``, ``\\u202e``) and leaves all other text as is.
"""

from __future__ import annotations

import re

__all__ = ["UNSAFE", "UNSAFE_BEYOND_C0", "UNSAFE_BUT_NEWLINE", "visible", "visible_lines"]

# C0 controls and DEL, C1 controls (0x9b is CSI on 8-bit terminals), the Unicode line and
# paragraph separators, and the bidi embedding/override/isolate marks.
_OTHERS = "\\x7f-\\x9f\\u2028\\u2029\\u200e\\u200f\\u061c\\u202a-\\u202e\\u2066-\\u2069"
UNSAFE = re.compile(f"[\\x00-\\x1f{_OTHERS}]")
UNSAFE_BUT_NEWLINE = re.compile(f"[\\x00-\\x09\\x0b-\\x1f{_OTHERS}]")
UNSAFE_BEYOND_C0 = re.compile(f"[{_OTHERS}]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control, separator and bidi character shown as an escape."""
    if text.isascii() and text.isprintable():  # the common case, decided in C
        return text
    return UNSAFE.sub(_escape, text) if UNSAFE.search(text) else text


def visible_lines(text: str) -> str:
    """Like ``visible``, but the line breaks of multi-line prose are kept (each line is made
    visible on its own): for certgate's own texts that quote untrusted values."""
    return "\n".join(visible(line) for line in text.split("\n"))
