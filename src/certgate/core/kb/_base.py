"""The knowledge base: every entry, checked once and indexed by every form its code takes."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import cache

from certgate.core.codes import FAMILIES
from certgate.core.kb._compiled import load_compiled
from certgate.core.kb._index import Index, normalize
from certgate.core.kb._lookup import lookup
from certgate.core.kb._model import Entry, Match

__all__ = ["KnowledgeBase", "describe", "knowledge_base", "likely_causes"]


class KnowledgeBase:
    """Entries by id and family, plus ``lookup`` for anything a user or a log line holds.

    Construction refuses an inconsistent base: duplicate ids, two entries claiming the same
    name or number within a family, links (``related``) to entries that do not exist.
    """

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._entries = list(entries)
        _check(self._entries)
        self._index = Index(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)

    def __contains__(self, kb_id: object) -> bool:
        return kb_id in self._index.by_id

    def get(self, kb_id: str) -> Entry | None:
        """The entry with this id (``hresult:CERT_E_UNTRUSTEDROOT``), or None."""
        return self._index.by_id.get(kb_id)

    def entries(self, family: str | None = None) -> list[Entry]:
        """All entries, or one family's; an unknown family is a ``ValueError``."""
        if family is None:
            return list(self._entries)
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; families: {', '.join(FAMILIES)}")
        return [entry for entry in self._entries if entry.family == family]

    def families(self) -> dict[str, int]:
        """Entry count per family, in ``codes.FAMILIES`` order."""
        counts = Counter(entry.family for entry in self._entries)
        return {family: counts[family] for family in FAMILIES}

    def lookup(self, text: str) -> list[Match]:
        """Every reading of ``text`` (a code in any printed form, a name, a message, a pasted
        log line), most likely first. Empty when nothing is known: see ``suggest``."""
        return lookup(self._index, text)

    def describe(self, kb_id: str) -> str | None:
        """One line for a summary: ``CERT_E_UNTRUSTEDROOT (0x800B0109): <meaning>``."""
        entry = self.get(kb_id)
        return entry.describe() if entry else None

    def suggest(self, text: str, limit: int = 5) -> list[Entry]:
        """The closest entries to an input ``lookup`` does not know, best first."""
        found = self._numeric_neighbours(text.strip()) or self._close_names(text)
        if len(found) < limit:
            found += self._close_messages(text)
        return list(dict.fromkeys(found))[:limit]

    def _numeric_neighbours(self, text: str) -> list[Entry]:
        """403.99 -> the 403.x codes; 0x800B01FF -> HRESULTs of that facility, nearest first."""
        if status := re.fullmatch(r"([1-5]\d\d)(?:[. ]\d{1,3})?", text):
            return self._index.iis_status(status.group(1))
        if number := re.fullmatch(r"(?:0x)?([0-9a-fA-F]{8})|(-?\d{9,10})", text):
            value = int(number.group(1), 16) if number.group(1) else int(number.group(2))
            value &= 0xFFFFFFFF
            same = [e for e in self.entries("hresult") if (e.value or 0) >> 16 == value >> 16]
            return sorted(same, key=lambda entry: abs((entry.value or 0) - value))
        return []

    def _close_names(self, text: str) -> list[Entry]:
        import difflib  # only for an input nothing matched

        keys = difflib.get_close_matches(text.strip().lower(), self._index.names, n=5, cutoff=0.6)
        return [entry for key in keys for entry, _ in self._index.names[key]]

    def _close_messages(self, text: str) -> list[Entry]:
        import difflib

        texts = [message for message, _, _ in self._index.messages]
        close = difflib.get_close_matches(normalize(text), texts, n=5, cutoff=0.5)
        return [e for message in close for m, _, e in self._index.messages if m == message]


def _check(entries: list[Entry]) -> None:
    ids = Counter(entry.id for entry in entries)
    names = Counter((entry.family, entry.group, entry.name.lower()) for entry in entries)
    values = Counter(
        (entry.family, entry.group, entry.value) for entry in entries if entry.value is not None
    )
    for label, counts in (("id", ids), ("name", names), ("number", values)):
        twice = [key for key, count in counts.items() if count > 1]
        if twice:
            raise ValueError(f"knowledge base: the same {label} is claimed twice: {twice[:5]}")
    known = set(ids)
    for entry in entries:
        missing = [kb_id for kb_id in entry.related if kb_id not in known]
        if missing:
            raise ValueError(f"knowledge base: {entry.id} links to unknown entries {missing}")


@cache
def knowledge_base() -> KnowledgeBase:
    """The knowledge base shipped with certgate, loaded and indexed once per process: from its
    compiled copy when that matches the TOML sources (``_compiled``), else from the sources."""
    entries = load_compiled()
    if entries is None:
        from certgate.core.kb._load import load_entries  # tomllib: only when needed

        entries = load_entries()
    return KnowledgeBase(entries)


def describe(kb_id: str) -> str | None:
    """``knowledge_base().describe(kb_id)``: one line, or None for an unknown id."""
    return knowledge_base().describe(kb_id)


def likely_causes(codes: tuple[str, ...]) -> tuple[str, ...]:
    """The knowledge base's likely causes of a symptom: its most specific code's first
    (an HRESULT before the IIS status it came with), each with how to confirm it."""
    kb = knowledge_base()
    ordered = sorted(codes, key=lambda code: not code.startswith(("hresult:", "openssl:")))
    found: dict[str, None] = {}
    for code in ordered:
        entry = kb.get(code)
        for cause in entry.causes if entry else ():
            mark = "" if cause.confidence.value == "confirmed" else f" [{cause.confidence.value}]"
            found.setdefault(f"{cause.text}{mark} (confirm: {cause.confirm})")
    return tuple(found)[:4]
