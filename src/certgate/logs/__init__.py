"""Read every trace a client-certificate failure leaves: WCF svclog, System.Net traces, IIS W3C
and HTTPERR logs, Schannel/CAPI2 events (.evtx or XML), nginx and Apache error logs.

Formats are recognised by content; ``.gz`` and ``.zip`` are read transparently; folders are
walked recursively. Everything streams. A damaged record is reported and skipped, a file that
cannot be read is reported and the others are still read::

    scan = LogScan(["logs/"], since=datetime(2024, 3, 5, tzinfo=UTC))
    for event in scan:            # certgate.core.events.LogEvent, in file order
        ...
    scan.files                    # one FileResult per input: format, events, skipped, problems
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from certgate.core.events import LogEvent
from certgate.errors import InputError, UsageError
from certgate.logs import freb, iis, svclog, sysnet, webservers, winevent
from certgate.logs._io import LogInput, open_text, read_errors, walk_inputs
from certgate.logs._registry import FORMATS, FileContext, LogFormat, Problem, sniff_log_format

__all__ = ["FORMATS", "FileResult", "LogFormat", "LogScan", "Problem", "read_events"]

_PARSERS = (freb, iis, svclog, sysnet, webservers, winevent)  # importing registers them

ScanProgress = Callable[[int, int], None]  # (bytes read, bytes of all the inputs)


@dataclass(frozen=True)
class FileResult:
    """What reading one input gave: ``error`` is set when the whole file was refused."""

    path: str
    format: str | None
    events: int
    skipped: int
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    error: str | None = None
    size: int = 0
    # records read and understood that are not client-certificate events, by kind
    other: tuple[tuple[str, int], ...] = ()


class LogScan:
    """Iterate the events of every input; ``files`` fills in as each input is finished.

    ``format`` forces a parser (an id from ``FORMATS``) instead of detection. ``since`` and
    ``until`` (aware datetimes) keep events in [since, until]; events without a time are
    dropped when either is given. ``progress(done_bytes, total_bytes)`` is called as input
    is read. ``fields`` is the W3C ``#Fields`` header to use for IIS/HTTPERR rows that come
    without one.
    """

    def __init__(
        self,
        paths: Iterable[str | Path],
        *,
        format: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: ScanProgress | None = None,
        fields: Sequence[str] | None = None,
    ) -> None:
        if format is not None and format not in FORMATS:
            known = ", ".join(sorted(FORMATS))
            raise UsageError(f"unknown log format {format!r}; known formats: {known}")
        if isinstance(paths, str | Path):
            paths = [paths]
        self.paths = [str(path) for path in paths]
        self.forced = FORMATS[format] if format else None
        self.fields = tuple(fields) if fields else None
        self.since = since
        self.until = until
        self.files: list[FileResult] = []
        self._progress = progress
        self._done = 0

    def __iter__(self) -> Iterator[LogEvent]:
        inputs = list(walk_inputs(self.paths, self._refused))
        total = sum(item.size for item in inputs)
        for item in inputs:
            yield from self._read(item, total)
            self._done += item.size
            self._report(0, total)

    def _refused(self, error: InputError) -> None:
        self.files.append(FileResult(error.path, None, 0, 0, error=error.message))

    def _report(self, position: int, total: int) -> None:
        if self._progress is not None:
            self._progress(self._done + position, total)

    def _read(self, item: LogInput, total: int) -> Iterator[LogEvent]:
        ctx = FileContext(item.name, item.disk_path, fields=self.fields)
        ctx.progress = lambda position: self._report(min(position, item.size), total)
        count, kind = 0, None
        try:
            with item.open() as raw:
                stream, ctx.head, note = open_text(raw)
                if note:
                    ctx.note(note)
                kind = self._choose(ctx.head, item.name)
                for event in kind.parse(stream, ctx):
                    if self._keep(event):
                        count += 1
                        yield event
                if not (count or ctx.skipped or ctx.other) and not kind.detect(ctx.head):
                    ctx.skip("file", f"nothing in it is recognisable as {kind.id}: {kind.title}")
                damage = _damage(raw)
                if damage:  # a cut .gz: what came before the damage is evidence
                    ctx.skip(
                        "end", f"compressed data cut short or damaged ({damage}): read up to there"
                    )
        except InputError as exc:
            where = f" (at {exc.where})" if exc.where else ""
            self.files.append(_result(ctx, kind, count, item.size, error=exc.message + where))
            return
        except read_errors() as exc:
            error = f"cannot be read: {getattr(exc, 'strerror', None) or exc}"
            self.files.append(_result(ctx, kind, count, item.size, error=error))
            return
        self.files.append(_result(ctx, kind, count, item.size))

    def _choose(self, head: bytes, name: str) -> LogFormat:
        if self.forced is not None:
            return self.forced
        if not head:
            raise InputError(name, "file is empty")
        found = sniff_log_format(head)
        if found is None and self.fields:
            found = FORMATS["httperr" if "s-reason" in self.fields else "iis-w3c"]
        if found is None:
            raise InputError(name, "not a log format certgate reads (see certgate logs --help)")
        return found

    def _keep(self, event: LogEvent) -> bool:
        if self.since is None and self.until is None:
            return True
        if event.time is None:
            return False
        if self.since is not None and event.time < self.since:
            return False
        return self.until is None or event.time <= self.until


def _damage(raw: object) -> str | None:
    """Why a compressed input ended early (``logs._io``'s gzip reader), or None."""
    value = getattr(raw, "damage", None)
    inner = getattr(raw, "_rest", None)
    return value if isinstance(value, str) else (_damage(inner) if inner is not None else None)


def _result(
    ctx: FileContext, kind: LogFormat | None, count: int, size: int, error: str | None = None
) -> FileResult:
    return FileResult(
        ctx.path,
        kind.id if kind else None,
        count,
        ctx.skipped,
        tuple(ctx.problems),
        tuple(ctx.notes),
        error,
        size,
        tuple(sorted(ctx.other.items(), key=lambda item: (-item[1], item[0]))),
    )


def read_events(
    paths: Iterable[str | Path], *, format: str | None = None
) -> tuple[list[LogEvent], list[FileResult]]:
    """Every event of ``paths`` as a list, with the per-file results (for small inputs)."""
    scan = LogScan(paths, format=format)
    events = list(scan)
    return events, scan.files
