"""``certgate fleet logs``: the log summary over many files and servers. One task per log file
(or zip) reads it where it lies and returns a small partial summary (counts per code, first and
last occurrence, hourly buckets, top talkers); the coordinator merges them per server, per code
and into one timeline. Memory: distinct codes x servers, and hours of the timeline.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from certgate.core.events import code_name
from certgate.core.logsummary import Describe
from certgate.errors import CertgateError
from certgate.fleet._documents import (
    FleetLogsDocument,
    LogFileRef,
    RefusedFile,
    ServerOccurrence,
)
from certgate.fleet._inputs import BUNDLE_MARKERS, _expand
from certgate.report.jsonout import iso

__all__ = ["SCHEMA", "LogMerge", "LogPart", "LogTask", "log_tasks", "summarise_log"]

SCHEMA: Final = "certgate.fleet-logs/1"
HOUR = 3600
_TOP = 20
_MAX_MANIFEST = 1024 * 1024


@dataclass(frozen=True)
class LogTask:
    server: str
    path: str
    format: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    bundle_zip: bool = False  # a bundle's zip: only its logs/ members count


@dataclass(frozen=True)
class CodeSeen:
    count: int
    first: tuple[datetime | None, str]
    last: tuple[datetime | None, str]


@dataclass(frozen=True)
class LogPart:
    server: str
    path: str
    files: tuple[LogFileRef, ...]
    events: int = 0
    codes: dict[str, CodeSeen] = field(default_factory=dict)
    hours: Counter[int] = field(default_factory=Counter)
    client_ips: Counter[str] = field(default_factory=Counter)
    thumbprints: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None


def log_tasks(
    arguments: Iterable[str],
    *,
    format: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[LogTask]:
    """One task per file; each file's server is the bundle it belongs to (its manifest's host),
    else the first folder under the folder given, else the folder the file is in."""
    seen: set[str] = set()
    for path in _expand(arguments, _server_files, _log_file):
        server, _, file = path.partition("\0")
        if file in seen:
            continue
        seen.add(file)
        zipped = file.casefold().endswith(".zip") and _is_bundle_zip(file)
        yield LogTask(server, file, format, since, until, zipped)


def _log_file(path: Path) -> tuple[list[str], bool]:
    """A file given by name is a log (or a zip of logs, or a bundle's zip): never a list."""
    server = path.stem if path.suffix.casefold() == ".zip" else path.parent.name
    return [f"{server or path.name}\0{path}"], False


def _server_files(folder: Path) -> Iterator[str]:
    """``server\\0path`` for every file under ``folder``."""
    if _is_bundle(folder):
        yield from _bundle_files(folder)
        return
    for child in sorted(folder.iterdir(), key=lambda p: p.name):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            if _is_bundle(child):
                yield from _bundle_files(child)
            else:
                yield from (f"{child.name}\0{p}" for p in _files(child))
        elif child.is_file():
            server = child.stem if child.suffix.casefold() == ".zip" else folder.name
            yield f"{server}\0{child}"


def _is_bundle(folder: Path) -> bool:
    return any(child.name.casefold() in BUNDLE_MARKERS for child in folder.iterdir())


def _bundle_files(folder: Path) -> Iterator[str]:
    server = _host(folder) or folder.name
    logs = folder / "logs"
    if logs.is_dir():
        yield from (f"{server}\0{p}" for p in _files(logs))


def _host(folder: Path) -> str:
    manifest = folder / "manifest.json"
    try:
        if manifest.stat().st_size > _MAX_MANIFEST:
            return ""
        document = json.loads(manifest.read_bytes())
    except (OSError, ValueError):
        return ""
    host = document.get("host") if isinstance(document, dict) else None
    return host.strip() if isinstance(host, str) else ""


def _files(folder: Path) -> Iterator[Path]:
    return (p for p in sorted(folder.rglob("*")) if p.is_file())


def _is_bundle_zip(path: str) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.replace("\\", "/").split("/")[0] == "logs" for n in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def summarise_log(task: LogTask) -> LogPart:
    """Read one file (or zip) and count; never raises: a refused file is in ``files``."""
    from certgate.logs import LogScan

    try:
        scan = LogScan([task.path], format=task.format, since=task.since, until=task.until)
        codes: dict[str, list[Any]] = {}
        part = LogPart(task.server, task.path, ())
        events = 0
        first: datetime | None = None
        last: datetime | None = None
        for event in scan:
            events += 1
            if event.time:
                first = event.time if first is None else min(first, event.time)
                last = event.time if last is None else max(last, event.time)
            where = (event.time, event.location)
            for code in event.codes:
                seen = codes.get(code)
                if seen is None:
                    codes[code] = [1, where, where]
                    continue
                seen[0] += 1
                if event.time and (seen[1][0] is None or event.time < seen[1][0]):
                    seen[1] = where
                if event.time and (seen[2][0] is None or event.time >= seen[2][0]):
                    seen[2] = where
            if event.time:
                part.hours[int(event.time.timestamp()) // HOUR * HOUR] += 1
            if event.client_ip:
                part.client_ips[event.client_ip] += 1
            if event.thumbprint:
                part.thumbprints[event.thumbprint] += 1
        files = tuple(
            _read_file(f.path, f.format, f.events, f.error)
            for f in scan.files
            if not task.bundle_zip or "logs/" in f.path
        )
    except CertgateError as exc:
        refused: LogFileRef = {"path": task.path, "error": exc.diagnostics()}
        files, events, codes = (refused,), 0, {}
        part, first, last = LogPart(task.server, task.path, ()), None, None
    return LogPart(
        task.server,
        task.path,
        files,
        events,
        {c: CodeSeen(n, first, last) for c, (n, first, last) in codes.items()},
        part.hours,
        Counter(dict(part.client_ips.most_common(_TOP))),
        Counter(dict(part.thumbprints.most_common(_TOP))),
        first,
        last,
    )


def _read_file(path: str, format: str | None, events: int, error: str | None) -> LogFileRef:
    return {"path": path, "format": format, "events": events, "error": error}


@dataclass
class _ServerSeen:
    files: int = 0
    events: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None


class LogMerge:
    """Everything the parts say, merged per server, per code and into one timeline."""

    def __init__(self) -> None:
        self.servers: dict[str, _ServerSeen] = {}
        self.codes: dict[str, list[Any]] = {}  # code -> [count, servers, first, last]
        self.hours: Counter[int] = Counter()
        self.client_ips: Counter[str] = Counter()
        self.thumbprints: Counter[str] = Counter()
        self.refused: list[RefusedFile] = []
        self.files = 0
        self.events = 0

    def add(self, part: LogPart) -> None:
        server = self.servers.setdefault(part.server, _ServerSeen())
        for item in part.files:
            self.files += 1
            server.files += 1
            if item.get("error"):
                self.refused.append({"server": part.server, **item})
        self.events += part.events
        server.events += part.events
        for code, seen in part.codes.items():
            server.codes[code] += seen.count
            merged = self.codes.setdefault(code, [0, set(), None, None])
            merged[0] += seen.count
            merged[1].add(part.server)
            merged[2] = _earlier(merged[2], (*seen.first, part.server))
            merged[3] = _later(merged[3], (*seen.last, part.server))
        if part.first is not None:
            server.first = min(server.first or part.first, part.first)
        if part.last is not None:
            server.last = max(server.last or part.last, part.last)
        self.hours.update(part.hours)
        self.client_ips.update(part.client_ips)
        self.thumbprints.update(part.thumbprints)

    def document(self, describe: Describe | None = None) -> FleetLogsDocument:
        return {
            "schema": SCHEMA,
            "summary": {
                "servers": len(self.servers),
                "files": self.files,
                "refused": len(self.refused),
                "events": self.events,
            },
            "codes": [
                {
                    "code": code,
                    "name": code_name(code),
                    "meaning": describe(code) if describe else None,
                    "events": count,
                    "servers": len(servers),
                    "first": _occurrence(first),
                    "last": _occurrence(last),
                }
                for code, (count, servers, first, last) in sorted(
                    self.codes.items(), key=lambda kv: (-kv[1][0], kv[0])
                )
            ],
            "servers": [
                {
                    "server": name,
                    "files": seen.files,
                    "events": seen.events,
                    "first": iso(seen.first) if seen.first else None,
                    "last": iso(seen.last) if seen.last else None,
                    "codes": dict(seen.codes.most_common()),
                }
                for name, seen in sorted(
                    self.servers.items(), key=lambda kv: (-kv[1].events, kv[0])
                )
            ],
            "timeline": {
                "bucket_seconds": HOUR,
                "buckets": [
                    {"start": iso(datetime.fromtimestamp(h, UTC)), "count": n}
                    for h, n in sorted(self.hours.items())
                ],
            },
            "client_ips": self.client_ips.most_common(_TOP),  # [ip, count] pairs
            "thumbprints": self.thumbprints.most_common(_TOP),
            "refused": sorted(self.refused, key=lambda r: (r["server"], r["path"])),
        }


def _occurrence(value: tuple[datetime | None, str, str] | None) -> ServerOccurrence | None:
    if value is None:
        return None
    when, location, server = value
    return {"time": iso(when) if when else None, "location": location, "server": server}


def _earlier(a: Any, b: Any) -> Any:
    if a is None or (b[0] is not None and (a[0] is None or (b[0], b[1:]) < (a[0], a[1:]))):
        return b
    return a


def _later(a: Any, b: Any) -> Any:
    if a is None or (b[0] is not None and (a[0] is None or (b[0], b[1:]) >= (a[0], a[1:]))):
        return b
    return a
