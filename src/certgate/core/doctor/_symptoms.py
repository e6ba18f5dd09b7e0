"""Log events -> symptoms: events grouped by the codes they carry, counted and located.

Two events are the same symptom when they carry the same knowledge-base ids (an IIS
``403 16 2148204809`` line is ``iis:403.16`` + ``hresult:CERT_E_UNTRUSTEDROOT``), so a cause
explains a symptom only when it explains every one of its codes. The whole stream also feeds
the shared ``SummaryBuilder`` for the timeline. Memory stays bounded by the distinct codes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from certgate.core.doctor._model import ObservedClient, Symptom
from certgate.core.events import UPSTREAM, LogEvent, code_name
from certgate.core.logsummary import Describe, LogSummary, Occurrence, SummaryBuilder

__all__ = ["Likely", "Locate", "SymptomBuilder"]

# Turns an event location (``file@offset``) into what a reader opens (``file:line``); the
# adapter that reads the files provides it.
Locate = Callable[[str], str]
# A symptom's codes -> the knowledge base's likely causes, most likely first.
Likely = Callable[[tuple[str, ...]], tuple[str, ...]]

_IIS_FORMATS = frozenset({"iis-w3c", "iis-pasted", "freb"})
_MAX_OBSERVED = 200
_MAX_SOURCES = 20


@dataclass
class _Group:
    label: str
    count: int = 0
    first: Occurrence | None = None
    last: Occurrence | None = None
    sources: dict[str, None] = field(default_factory=dict)

    def add(self, event: LogEvent) -> None:
        self.count += 1
        here = Occurrence(event.time, event.location)
        if self.first is None or _earlier(here, self.first):
            self.first = here
        if self.last is None or not _earlier(here, self.last):
            self.last = here
        if len(self.sources) < _MAX_SOURCES:
            self.sources.setdefault(event.source)


def _earlier(a: Occurrence, b: Occurrence) -> bool:
    if a.time is None or b.time is None:
        return a.time is not None and b.time is None
    return a.time < b.time


class SymptomBuilder:
    """Accumulates events; ``symptoms()`` and ``timeline()`` may be read at any point.

    ``locate`` rewrites the first and last locations of each symptom (byte offsets to lines).
    """

    def __init__(self, locate: Locate | None = None) -> None:
        self.summary = SummaryBuilder()
        self._locate = locate
        self._groups: dict[tuple[str, ...], _Group] = {}
        self._observed: Counter[tuple[str | None, str | None, str | None]] = Counter()
        self._observed_at: dict[tuple[str | None, str | None, str | None], str] = {}
        self._set_aside: Counter[str] = Counter()

    def add(self, event: LogEvent) -> None:
        if not event.about_client_certificate:
            self._set_aside[_aside(event)] += 1
            return
        self.summary.add(event)
        if not event.codes:
            return
        group = self._groups.get(event.codes)
        if group is None:
            group = self._groups[event.codes] = _Group(label(event))
        group.add(event)
        if event.issuer or event.subject or event.thumbprint:
            self._observe(event)

    def _observe(self, event: LogEvent) -> None:
        key = (event.subject, event.issuer, event.thumbprint)
        if key in self._observed or len(self._observed) < _MAX_OBSERVED:
            self._observed[key] += 1
            self._observed_at.setdefault(key, event.location)

    def set_aside(self) -> tuple[str, ...]:
        """Events read but not evidence about a client certificate this server judged."""
        return tuple(f"{count:,} {kind}" for kind, count in self._set_aside.most_common())

    def symptoms(
        self, describe: Describe | None = None, likely: Likely | None = None
    ) -> tuple[Symptom, ...]:
        out = []
        for codes, group in self._groups.items():
            assert group.first is not None and group.last is not None
            meaning = describe(codes[0]) if describe else None
            out.append(
                Symptom(
                    codes,
                    group.label,
                    group.count,
                    self._located(group.first),
                    self._located(group.last),
                    tuple(group.sources),
                    meaning,
                    likely(codes) if likely else (),
                )
            )
        return tuple(sorted(out, key=_order))

    def _located(self, where: Occurrence) -> Occurrence:
        return Occurrence(where.time, self._locate(where.location)) if self._locate else where

    def observed(self) -> tuple[ObservedClient, ...]:
        return tuple(
            ObservedClient(subject, issuer, thumbprint, count, self._observed_at[key])
            for key, count in self._observed.most_common()
            for subject, issuer, thumbprint in (key,)
        )

    def timeline(self, describe: Describe | None = None) -> LogSummary:
        return self.summary.build(describe)


def _order(symptom: Symptom) -> tuple[int, str, tuple[str, ...]]:
    first = symptom.first.time.isoformat() if symptom.first.time else "~"
    return (-symptom.count, first, symptom.codes)


def _aside(event: LogEvent) -> str:
    if event.side == UPSTREAM:
        return f"{event.format} failure(s) towards an upstream (this server's own certificate)"
    return f"{event.format} event(s) about {event.purpose} certificates (not client authentication)"


def label(event: LogEvent) -> str:
    """How a support engineer names the symptom: the code with the number the log printed."""
    primary = code_name(event.codes[0]) if event.codes else event.format
    if event.format in _IIS_FORMATS and event.status is not None:
        status = f"{event.status}.{event.substatus}" if event.substatus is not None else ""
        win32 = f" / {event.win32_status}" if event.win32_status else ""
        named = [code_name(c) for c in event.codes if c.startswith("hresult:")]
        return f"IIS {status or event.status}{win32}" + (f" ({named[0]})" if named else "")
    if event.native_error:
        return f"{primary} {event.native_error}"
    others = [code_name(code) for code in event.codes[1:]]
    return " / ".join([primary, *others])
