"""Render a log summary: tables for people, one ``certgate.logs/1`` JSON document for scripts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from rich.console import Console
from rich.table import Table

from certgate.core.logsummary import CodeGroup, LogSummary, Occurrence
from certgate.logs import FileResult
from certgate.report._text import escape
from certgate.report.documents import (
    CodeGroupJson,
    LogFileJson,
    LogsDocument,
    TimeWhereJson,
    ValueCountJson,
)
from certgate.report.jsonout import iso

__all__ = ["SCHEMA", "logs_document", "print_logs"]

SCHEMA: Final = "certgate.logs/1"
_BAR = 40


def logs_document(files: Sequence[FileResult], summary: LogSummary) -> LogsDocument:
    return {
        "schema": SCHEMA,
        "files": [_file(item) for item in files],
        "summary": {
            "events": summary.events,
            "untimed": summary.untimed,
            "uncoded": summary.uncoded,
            "first": _iso(summary.first),
            "last": _iso(summary.last),
            "histogram": {
                "bucket_seconds": summary.bucket_seconds,
                "buckets": [{"start": iso(b.start), "count": b.count} for b in summary.histogram],
            },
            "client_ips": _top(summary.client_ips),
            "subjects": _top(summary.subjects),
            "thumbprints": _top(summary.thumbprints),
            "notes": list(summary.notes),
            "sides": dict(summary.sides),
        },
        "groups": [_group(group) for group in summary.groups],
    }


def _file(item: FileResult) -> LogFileJson:
    return {
        "path": item.path,
        "format": item.format,
        "events": item.events,
        "skipped": item.skipped,
        "error": item.error,
        "problems": [{"where": p.where, "message": p.message} for p in item.problems],
        "other": [{"kind": kind, "count": count} for kind, count in item.other],
        "notes": list(item.notes),
    }


def _group(group: CodeGroup) -> CodeGroupJson:
    return {
        "code": group.code,
        "name": group.name,
        "count": group.count,
        "first": _occurrence(group.first),
        "last": _occurrence(group.last),
        "meaning": group.meaning,
    }


def _occurrence(item: Occurrence) -> TimeWhereJson:
    return {"time": _iso(item.time), "where": item.location}


def _top(pairs: tuple[tuple[str, int], ...]) -> list[ValueCountJson]:
    return [{"value": value, "count": count} for value, count in pairs]


def _iso(when: datetime | None) -> str | None:
    return iso(when) if when is not None else None


def print_logs(console: Console, files: Sequence[FileResult], summary: LogSummary) -> None:
    read = [item for item in files if item.error is None]
    skipped = sum(item.skipped for item in files)
    console.print(
        f"Read {len(read)} file(s): {summary.events:,} event(s), {skipped:,} record(s) skipped",
        markup=False,
    )
    console.print(_files_table(files))
    _print_set_aside(console, files)
    if summary.events == 0:
        console.print("No client-certificate events found.")
        return
    if summary.first is not None and summary.last is not None:
        console.print(f"Time range: {_short(summary.first)} to {_short(summary.last)} UTC")
    if summary.groups:
        console.print(_groups_table(summary.groups))
    if any(side == "upstream" for side, _ in summary.sides):
        counts = ", ".join(f"{count:,} {side}" for side, count in summary.sides)
        console.print(
            f"Sides: {counts} (upstream: this server was the client of a backend; its own "
            "certificate, not a client's, and its client IPs are not counted)"
        )
    if summary.histogram:
        console.print(_histogram(summary))
    for title, column, pairs in (
        ("Top client IPs", "Client IP", summary.client_ips),
        ("Top certificate subjects", "Subject", summary.subjects),
        ("Top certificate thumbprints", "Thumbprint", summary.thumbprints),
    ):
        if pairs:
            console.print(_top_table(title, column, pairs))
    for note in summary.notes:
        console.print(f"note: {note}", markup=False)


def _print_set_aside(console: Console, files: Sequence[FileResult]) -> None:
    """What each file held besides client-certificate events (what was skipped and why goes
    to stderr with the first lines, and into the table's Skipped column)."""
    for item in files:
        for kind, count in item.other[:8]:
            console.print(
                f"{escape(item.path)}: {count:,} {escape(kind)} (not client-certificate events)"
            )
        for note in item.notes:
            console.print(f"[dim]{escape(item.path)}: {escape(note)}[/]")


def _files_table(files: Sequence[FileResult]) -> Table:
    table = Table(title="Files", title_justify="left")
    for column in ("File", "Format", "Events", "Skipped"):
        table.add_column(column, justify="right" if column in {"Events", "Skipped"} else "left")
    for item in files:
        table.add_row(
            escape(item.path),
            escape(item.format or "-") if item.error is None else "[red]refused[/]",
            f"{item.events:,}",
            f"{item.skipped:,}",
        )
    return table


def _groups_table(groups: tuple[CodeGroup, ...]) -> Table:
    meanings = any(group.meaning for group in groups)
    table = Table(title="Codes", title_justify="left")
    table.add_column("Code", no_wrap=True)
    table.add_column("Count", justify="right")
    table.add_column("First", overflow="fold")
    table.add_column("Last", overflow="fold")
    if meanings:
        table.add_column("Meaning")
    for group in groups:
        row = [
            escape(group.code),
            f"{group.count:,}",
            escape(_where(group.first)),
            escape(_where(group.last)),
        ]
        if meanings:
            row.append(escape(group.meaning or ""))
        table.add_row(*row)
    return table


def _where(item: Occurrence) -> str:
    return f"{_short(item.time)} {item.location}" if item.time else item.location


def _histogram(summary: LogSummary) -> Table:
    peak = max(bucket.count for bucket in summary.histogram) or 1
    width = _duration(summary.bucket_seconds)
    table = Table(title=f"Events per {width}", title_justify="left", show_header=False, box=None)
    table.add_column("Start")
    table.add_column("Count", justify="right")
    table.add_column("Bar")
    for bucket in summary.histogram:
        bar = "█" * max(1 if bucket.count else 0, round(bucket.count * _BAR / peak))
        table.add_row(_short(bucket.start), f"{bucket.count:,}", bar)
    return table


def _top_table(title: str, column: str, pairs: tuple[tuple[str, int], ...]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(column)
    table.add_column("Events", justify="right")
    for value, count in pairs:
        table.add_row(escape(value), f"{count:,}")
    return table


def _duration(seconds: int) -> str:
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return unit if count == 1 else f"{count} {unit}s"
    return f"{seconds} s"


def _short(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S") if when else "-"
