"""Summarise a stream of log events: counts per code, time range, histogram, top talkers.

Built incrementally (``SummaryBuilder.add``) so gigabytes of logs summarise in constant
memory apart from the distinct codes, client IPs and certificates seen. Meanings come from an
optional ``describe`` callable (knowledge-base id -> one line), so this module does not depend
on the knowledge base.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from certgate.core.events import LogEvent, code_name

__all__ = [
    "Bucket",
    "CodeGroup",
    "Describe",
    "LogSummary",
    "Occurrence",
    "SummaryBuilder",
    "summarise",
]

Describe = Callable[[str], str | None]

# Histogram resolutions in seconds; the builder coarsens when too many buckets accumulate.
_RESOLUTIONS = (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 28 * 86400)
_MAX_STORED_BUCKETS = 10_000
_MAX_SHOWN_BUCKETS = 24
_MAX_NOTES = 50


@dataclass(frozen=True)
class Occurrence:
    time: datetime | None
    location: str


@dataclass(frozen=True)
class CodeGroup:
    code: str
    name: str
    count: int
    first: Occurrence
    last: Occurrence
    meaning: str | None = None


@dataclass(frozen=True)
class Bucket:
    start: datetime
    count: int


@dataclass(frozen=True)
class LogSummary:
    events: int
    untimed: int
    first: datetime | None
    last: datetime | None
    groups: tuple[CodeGroup, ...]
    bucket_seconds: int
    histogram: tuple[Bucket, ...]
    client_ips: tuple[tuple[str, int], ...]
    subjects: tuple[tuple[str, int], ...]
    thumbprints: tuple[tuple[str, int], ...]
    uncoded: int
    notes: tuple[str, ...]
    # events per side when the log says (nginx/Apache: downstream client or upstream backend)
    sides: tuple[tuple[str, int], ...] = ()


class _Group:
    """A code's count and its first and last events (kept, not copied: most events of a
    long log become the group's last one in turn)."""

    __slots__ = ("_first", "_last", "count")

    def __init__(self, event: LogEvent) -> None:
        self.count = 0
        self._first = self._last = event

    def add(self, event: LogEvent) -> None:
        self.count += 1
        when = event.time
        if when is None:
            return
        first, last = self._first.time, self._last.time
        if first is None or when < first:
            self._first = event
        if last is None or when >= last:
            self._last = event

    @property
    def first(self) -> Occurrence:
        return Occurrence(self._first.time, self._first.location)

    @property
    def last(self) -> Occurrence:
        return Occurrence(self._last.time, self._last.location)


class SummaryBuilder:
    """Accumulates events; ``build()`` returns the ``LogSummary`` at any point."""

    def __init__(self) -> None:
        self.events = 0
        self.untimed = 0
        self.uncoded = 0
        self._first: datetime | None = None
        self._last: datetime | None = None
        self._groups: dict[str, _Group] = {}
        self._resolution_index = 0
        self._buckets: Counter[int] = Counter()
        self._ips: Counter[str] = Counter()
        self._subjects: Counter[str] = Counter()
        self._thumbprints: Counter[str] = Counter()
        self._notes: dict[str, None] = {}
        self._sides: Counter[str] = Counter()

    def add(self, event: LogEvent) -> None:
        self.events += 1
        self._add_time(event.time)
        for code in event.codes:
            group = self._groups.get(code)
            if group is None:
                group = self._groups[code] = _Group(event)
            group.add(event)
        if not event.codes:
            self.uncoded += 1
        if event.side:
            self._sides[event.side] += 1
        for counter, value in (
            (self._ips, event.client_ip),
            (self._subjects, event.subject),
            (self._thumbprints, event.thumbprint),
        ):
            if value:
                counter[value] += 1
        for note in event.notes:
            if len(self._notes) < _MAX_NOTES:
                self._notes.setdefault(note)

    def _add_time(self, when: datetime | None) -> None:
        if when is None:
            self.untimed += 1
            return
        if self._first is None or when < self._first:
            self._first = when
        if self._last is None or when > self._last:
            self._last = when
        seconds = _RESOLUTIONS[self._resolution_index]
        self._buckets[int(when.timestamp()) // seconds * seconds] += 1
        if len(self._buckets) > _MAX_STORED_BUCKETS:
            self._coarsen()

    def _coarsen(self) -> None:
        if self._resolution_index + 1 < len(_RESOLUTIONS):
            self._resolution_index += 1
            self._buckets = _rebucket(self._buckets, _RESOLUTIONS[self._resolution_index])

    def build(self, describe: Describe | None = None, top: int = 10) -> LogSummary:
        seconds, histogram = self._histogram()
        groups = sorted(self._groups.items(), key=lambda item: (-item[1].count, item[0]))
        return LogSummary(
            events=self.events,
            untimed=self.untimed,
            first=self._first,
            last=self._last,
            groups=tuple(
                CodeGroup(
                    code=code,
                    name=code_name(code),
                    count=group.count,
                    first=group.first,
                    last=group.last,
                    meaning=describe(code) if describe else None,
                )
                for code, group in groups
            ),
            bucket_seconds=seconds,
            histogram=histogram,
            client_ips=tuple(self._ips.most_common(top)),
            subjects=tuple(self._subjects.most_common(top)),
            thumbprints=tuple(self._thumbprints.most_common(top)),
            uncoded=self.uncoded,
            notes=tuple(self._notes),
            sides=tuple(sorted(self._sides.items())),
        )

    def _histogram(self) -> tuple[int, tuple[Bucket, ...]]:
        if not self._buckets:
            return _RESOLUTIONS[0], ()
        low, high = min(self._buckets), max(self._buckets)
        index = self._resolution_index
        while (
            index + 1 < len(_RESOLUTIONS)
            and (high - low) // _RESOLUTIONS[index] + 1 > _MAX_SHOWN_BUCKETS
        ):
            index += 1
        seconds = _RESOLUTIONS[index]
        counts = _rebucket(self._buckets, seconds)
        start = min(counts)
        width = timedelta(seconds=seconds)
        origin = datetime.fromtimestamp(start, UTC)
        slots = (max(counts) - start) // seconds + 1
        return seconds, tuple(
            Bucket(origin + i * width, counts.get(start + i * seconds, 0)) for i in range(slots)
        )


def _rebucket(buckets: Counter[int], seconds: int) -> Counter[int]:
    result: Counter[int] = Counter()
    for start, count in buckets.items():
        result[start // seconds * seconds] += count
    return result


def summarise(
    events: Iterable[LogEvent], describe: Describe | None = None, top: int = 10
) -> LogSummary:
    builder = SummaryBuilder()
    for event in events:
        builder.add(event)
    return builder.build(describe, top)
