"""Secrets out of IIS configuration before it leaves the server, lines kept in place.

What is blanked (the value only; names, quotes and line breaks stay, so ``file:line`` citations
still match the original):

- every attribute whose name holds a secret word, in either quoting: mapping and identity
  ``password``, ``connectionString`` / ``sqlConnectionString``, ``machineKey``'s
  ``validationKey`` and ``decryptionKey``, anything ``*secret*``, ``*token*``, ``*apiKey*``...;
- the ``value`` of every ``<add>`` element (``appSettings``, environment variables, custom
  headers: certgate reads none of them, and any may hold a secret);
- any attribute holding an IIS-encrypted value (``[enc:Provider:...:enc]``);
- the ``<CipherValue>`` of encrypted configuration sections (``configProtectionProvider``).

The patterns are written in the subset that Python's ``re`` and .NET's ``Regex`` read alike
(numbered groups, ``(?is)``, lookbehind), and ``collect.ps1`` carries them verbatim; a test
keeps the two the same.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ADD_ELEMENT", "ADD_VALUE", "CIPHER_VALUE", "PLACEHOLDER", "SECRET_ATTRIBUTE"]
__all__ += ["ENCRYPTED_ATTRIBUTE", "Redaction", "redact_config"]

PLACEHOLDER = "[redacted by certgate]"
_WORDS = (
    "password|passwd|pwd|secret|token|apikey|api-key|api_key|connectionstring|validationkey|"
    "decryptionkey|privatekey|accesskey|sharedkey|credential"
)
# 1 name, 2 "=", 3 quote, 4 value
SECRET_ATTRIBUTE = rf"(?is)(?<![\w.:-])([\w.:-]*(?:{_WORDS})[\w.:-]*)(\s*=\s*)([\"'])(.*?)\3"
ENCRYPTED_ATTRIBUTE = r"(?is)(?<![\w.:-])([\w.:-]+)(\s*=\s*)([\"'])(\[enc:[^\"']*)\3"
ADD_ELEMENT = r"(?is)<add\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>"
ADD_VALUE = r"(?is)(?<![\w.:-])(value)(\s*=\s*)([\"'])(.*?)\3"
# 1 opening tag, 2 content, 3 closing tag
CIPHER_VALUE = r"(?is)(<(?:[\w.-]+:)?CipherValue\b[^>]*>)(.*?)(</(?:[\w.-]+:)?CipherValue\s*>)"


@dataclass(frozen=True)
class Redaction:
    """One blanked value: where it was and what it was (never the value itself)."""

    file: str
    line: int
    what: str

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "what": self.what}


def redact_config(data: bytes, file: str) -> tuple[bytes, list[Redaction]]:
    """``data`` with every secret blanked, and the list of what was blanked."""
    text = data.decode("utf-8", errors="surrogateescape")
    found: list[tuple[int, str]] = []
    text = _blank(text, SECRET_ATTRIBUTE, 4, lambda m: f"{m.group(1)} attribute", found)
    text = _blank(text, ENCRYPTED_ATTRIBUTE, 4, lambda m: f"{m.group(1)} (encrypted)", found)
    text = _blank(text, CIPHER_VALUE, 2, lambda m: "encrypted section (CipherValue)", found)
    starts = _line_starts(text)

    def element(outer: re.Match[str]) -> str:
        line = bisect_right(starts, outer.start())
        inner: list[tuple[int, str]] = []
        redacted = _blank(outer.group(), ADD_VALUE, 4, lambda m: "value of an <add> element", inner)
        found.extend((line + at - 1, what) for at, what in inner)
        return redacted

    text = re.sub(ADD_ELEMENT, element, text)
    redactions = sorted({Redaction(file, line, what) for line, what in found}, key=_order)
    return text.encode("utf-8", "surrogateescape"), redactions


def _order(redaction: Redaction) -> tuple[int, str]:
    return redaction.line, redaction.what


def _blank(
    text: str,
    pattern: str,
    group: int,
    what: Callable[[re.Match[str]], str],
    found: list[tuple[int, str]],
) -> str:
    """Replace ``group`` of every match by the placeholder (plus its line breaks), noting the
    line (1-based, in ``text``) and what it was."""
    starts = _line_starts(text)

    def replace(match: re.Match[str]) -> str:
        value = match.group(group)
        if value.strip("\n") == PLACEHOLDER:  # already blanked (a run over its own output)
            return match.group()
        found.append((bisect_right(starts, match.start(group)), what(match)))
        offset = match.start()
        start, end = match.span(group)
        whole = match.group()
        kept = PLACEHOLDER + "\n" * value.count("\n")
        return whole[: start - offset] + kept + whole[end - offset :]

    return re.sub(pattern, replace, text)


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer("\n", text)]
