"""The matches of one lookup as they accumulate: best reading per entry, spans already read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from certgate.core.kb._model import Entry, Match, MatchKind

__all__ = ["Found"]


@dataclass
class Found:
    """What one lookup found so far; recognisers add readings and mark the spans they read."""

    query: str
    matches: dict[str, Match] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    read: bytearray = field(init=False)  # 1 where a recogniser already read the query
    alone: bool = field(init=False)  # one token: bare numbers and generic names read freely

    def __post_init__(self) -> None:
        self.read = bytearray(len(self.query))
        self.alone = len(self.query.split(maxsplit=1)) == 1

    def add(self, entry: Entry, kind: MatchKind, text: str, why: str, score: int) -> None:
        best = self.matches.get(entry.id)
        if best is None:
            self.order.append(entry.id)
        if best is None or score > best.score:
            self.matches[entry.id] = Match(entry, kind, text, why, score)

    def consume(self, match: re.Match[str]) -> None:
        start, end = match.span()
        self.read[start:end] = b"\x01" * (end - start)

    def consumed(self, match: re.Match[str]) -> bool:
        start, end = match.span()
        return any(self.read[start:end])

    def ranked(self) -> list[Match]:
        ordered = sorted(self.order, key=lambda i: -self.matches[i].score)
        return [replace(self.matches[i], rank=n) for n, i in enumerate(ordered, start=1)]
