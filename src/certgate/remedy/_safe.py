"""Values that go into generated scripts: validated against their grammar, quoted, or refused.

A fix script is run elevated on a production server, and most of what it names came from a
bundle somebody else collected (store names, thumbprints, binding settings, certificate names).
Identifiers must match their grammar exactly or the script is not written (``ValueError``);
free text only ever lands in a comment, after control characters are made visible and the
comment's own terminators are defused.
"""

from __future__ import annotations

import re

from certgate.core.stores import canonical_store_name
from certgate.core.visible import visible

__all__ = ["cmd_comment", "ps_comment", "ps_string", "reg_value_name", "store_name", "thumbprint"]

_THUMBPRINT = re.compile(r"[0-9A-F]{40}")
_STORE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}")
# PowerShell ends a single-quoted string at any of these, not only at ASCII '.
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"
_CMD_SPECIAL = re.compile(r'[%!^&|<>"()]')


def thumbprint(value: str) -> str:
    """40 upper-case hex digits, as Windows shows a SHA-1 thumbprint."""
    upper = value.upper()
    if not _THUMBPRINT.fullmatch(upper):
        raise ValueError(f"not a certificate thumbprint: {visible(value[:60])!r}")
    return upper


def store_name(value: str) -> str:
    """A LocalMachine store name (``Root``, ``CA``, a custom CTL store): letters, digits,
    space, ``_.-``; never a path."""
    try:
        name = canonical_store_name(value)
    except ValueError:
        name = ""
    if not _STORE.fullmatch(name):
        raise ValueError(f"not a certificate store name: {visible(value[:60])!r}")
    return name


def reg_value_name(value: str) -> str:
    """A registry value name that a .reg line can hold (no control characters)."""
    if not value or len(value) > 16383 or visible(value) != value:
        raise ValueError(f"not a registry value name that can be written: {visible(value[:60])!r}")
    return value


def ps_string(value: str) -> str:
    """A PowerShell verbatim string: every quote character PowerShell knows is doubled, and a
    value with control characters is refused."""
    if visible(value) != value:
        raise ValueError(f"control characters in {visible(value[:60])!r}")
    return "'" + "".join(c + c if c in _PS_QUOTES else c for c in value) + "'"


def ps_comment(text: str) -> str:
    """Text for a ``#`` or ``<# #>`` comment: one line, no block-comment delimiters."""
    return visible(text).replace("#>", "#_>").replace("<#", "<_#")


def cmd_comment(text: str) -> str:
    """Text for a ``rem`` line: one line, no character cmd.exe expands or splits on."""
    return _CMD_SPECIAL.sub("_", visible(text))
