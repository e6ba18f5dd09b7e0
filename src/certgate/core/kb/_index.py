"""The knowledge base indexed by every form a code takes, built once when it loads."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from certgate.core.kb._model import Entry

__all__ = ["Index", "normalize"]

_ALERT_PREFIX = re.compile(r"\b(?:sslv3|tlsv1|tlsv13|ssl/tls) alert\b")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Lower case, hyphens as spaces, one space between words, and OpenSSL's alert prefixes
    ("sslv3 alert", "tlsv1 alert", "ssl/tls alert", which vary by version) made one."""
    text = _SPACES.sub(" ", text.lower().replace("-", " ")).strip()
    return _ALERT_PREFIX.sub("tls alert", text)


class Index:
    """Lookup tables: ids, names and aliases, numbers per family, HRESULT low words, messages."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.by_id: dict[str, Entry] = {}
        self.names: dict[str, list[tuple[Entry, bool]]] = defaultdict(list)
        self.numbers: dict[str, dict[int, list[Entry]]] = defaultdict(lambda: defaultdict(list))
        self.low_words: dict[int, list[Entry]] = defaultdict(list)
        self.iis: dict[str, Entry] = {}
        self.messages: list[tuple[str, str, Entry]] = []  # (normalized, as printed, entry)
        for entry in entries:
            self._add(entry)
        self.messages.sort(key=lambda item: -len(item[0]))
        groups: dict[str, list[tuple[str, Entry]]] = defaultdict(list)
        for message, original, entry in self.messages:
            groups[message].append((original, entry))
        self.message_groups = list(groups.items())  # longest message first

    def _add(self, entry: Entry) -> None:
        self.by_id[entry.id] = entry
        self.names[entry.name.lower()].append((entry, True))
        for alias in entry.aliases:
            self.names[alias.lower()].append((entry, False))
        if entry.value is not None:
            self.numbers[self._number_space(entry)][entry.value].append(entry)
        if entry.family == "hresult" and entry.value is not None:
            self.low_words[entry.value & 0xFFFF].append(entry)
        if entry.family == "iis":
            self.iis[entry.code] = entry
        self.messages.extend((normalize(message), message, entry) for message in entry.messages)

    @staticmethod
    def _number_space(entry: Entry) -> str:
        """Trust bits have two spaces (error and info bits reuse values); .NET has two enums."""
        if entry.family in {"cert-trust", "dotnet"}:
            return f"{entry.family}/{entry.group}"
        return entry.family

    def number(self, space: str, value: int) -> list[Entry]:
        table = self.numbers.get(space)
        return list(table.get(value, ())) if table else []

    def iis_status(self, status: str) -> list[Entry]:
        return [entry for code, entry in self.iis.items() if code.split(".")[0] == status]
