"""Read a user's input, whatever its form, as knowledge-base matches.

Recognisers run in order, each with its own pattern and a score for how specific the pattern
is: an exact id or name 100/95, a number in context ("alert 48", "error 20 at 0 depth") 95,
a known message inside the text 90, a bare number that several families share 30-60. A span
one recogniser read is not read again by a vaguer one, so "error 20 at 0 depth" never also
yields TLS alert 0. Every match keeps its reason; the best match per entry wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from certgate.core.codes import FAMILIES
from certgate.core.kb._found import Found
from certgate.core.kb._index import Index, normalize
from certgate.core.kb._model import Match, MatchKind
from certgate.core.kb._numbers import (
    alerts,
    bare_numbers,
    events,
    hresults,
    iis,
    trust_values,
    verify_codes,
)

__all__ = ["lookup"]


def lookup(index: Index, text: str) -> list[Match]:
    found = Found(text.strip())
    if not found.query:
        return []
    for recognise in _RECOGNISERS:
        recognise(index, found)
    if not found.matches:
        _fragments(index, found)
    return found.ranked()


def _ids(index: Index, found: Found) -> None:
    for m in re.finditer(r"\b([a-z][a-z0-9-]*):([\w.-]*\w)", found.query):
        entry = index.by_id.get(m.group(0))
        if m.group(1) in FAMILIES and entry:
            found.add(entry, MatchKind.ID, m.group(0), "the knowledge-base id", 100)
            found.consume(m)


def _messages(index: Index, found: Found) -> None:
    """Known texts inside the input, longest first: a text inside a longer one that already
    matched there ("self-signed certificate" in "... in certificate chain") does not count."""
    text = normalize(found.query)
    taken = bytearray(len(text))
    for message, group in index.message_groups:
        if len(message) < 6 and message != text:
            continue
        size = len(message)
        starts = [s for s in _occurrences(text, message) if not all(taken[s : s + size])]
        for start in starts:
            taken[start : start + size] = b"\x01" * size
        for original, entry in group if starts else ():
            found.add(entry, MatchKind.MESSAGE, original, f'the text contains "{original}"', 90)


def _occurrences(text: str, message: str) -> list[int]:
    starts = []
    position = text.find(message)
    while position >= 0:
        before = text[position - 1] if position else " "
        after = text[position + len(message)] if position + len(message) < len(text) else " "
        if not (before.isalnum() or after.isalnum()):
            starts.append(position)
        position = text.find(message, position + 1)
    return starts


_TOKEN = re.compile(r"(?<![\w.-])[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*")


def _names(index: Index, found: Found) -> None:
    for m in _TOKEN.finditer(found.query):
        if found.consumed(m):
            continue
        token = m.group(0)
        for key in dict.fromkeys((token, token.rsplit(".", 1)[-1])):
            if found.alone or _distinctive(key):
                _name(index, found, token, key)


def _distinctive(token: str) -> bool:
    """Inside a longer text only names that cannot be ordinary words count:
    CERT_E_UNTRUSTEDROOT, PartialChain, HttpsClientCertificateInvalid, AH02039."""
    camel = bool(re.search(r"[a-z][A-Z]", token))
    marked = "_" in token or "-" in token or camel or bool(re.fullmatch(r"AH\d{5}", token))
    return len(token) >= 6 and marked


def _name(index: Index, found: Found, token: str, key: str) -> None:
    for entry, canonical in index.names.get(key.lower(), ()):
        if canonical:
            found.add(entry, MatchKind.NAME, token, "the canonical name", 95)
        else:
            found.add(entry, MatchKind.NAME, token, f"an alias of {entry.name}", 90)


def _fragments(index: Index, found: Found) -> None:
    """Nothing matched exactly: is the input part of a known message or name?"""
    text = normalize(found.query)
    if len(text) < 6:
        return
    for message, original, entry in index.messages:
        if text in message:
            why = f'the text is part of "{original}"'
            found.add(entry, MatchKind.MESSAGE, found.query, why, 70)
    for key, entries in index.names.items():
        if len(text) >= 6 and text.replace(" ", "_") in key:
            for entry, _ in entries:
                found.add(entry, MatchKind.NAME, found.query, f"part of the name {entry.name}", 60)


_RECOGNISERS: tuple[Callable[[Index, Found], None], ...] = (
    _ids,
    verify_codes,
    alerts,
    events,
    iis,
    trust_values,
    hresults,
    _messages,
    _names,
    bare_numbers,
)
