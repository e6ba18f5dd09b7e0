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
    spans: list[tuple[int, int]] = field(default_factory=list)

    @property
    def alone(self) -> bool:
        """The whole input is one token: bare numbers and generic names may be read freely."""
        return len(self.query.split()) == 1

    def add(self, entry: Entry, kind: MatchKind, text: str, why: str, score: int) -> None:
        best = self.matches.get(entry.id)
        if best is None:
            self.order.append(entry.id)
        if best is None or score > best.score:
            self.matches[entry.id] = Match(entry, kind, text, why, score)

    def consume(self, match: re.Match[str]) -> None:
        self.spans.append(match.span())

    def consumed(self, match: re.Match[str]) -> bool:
        start, end = match.span()
        return any(start < s_end and s_start < end for s_start, s_end in self.spans)

    def ranked(self) -> list[Match]:
        ordered = sorted(self.order, key=lambda i: -self.matches[i].score)
        return [replace(self.matches[i], rank=n) for n, i in enumerate(ordered, start=1)]
