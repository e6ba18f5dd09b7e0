"""The shape of the fleet's JSON documents (``certgate.fleet/1``, ``certgate.fleet.server/1``,
``certgate.fleet-logs/1``) as TypedDicts, returned by the code that builds them; each matches
its schema in ``docs/schemas/`` (``tests/test_json_typed.py`` keeps the two in step).

A server's entry is one of two shapes: a bundle that was diagnosed, or one that could not be
read (``"error" in entry`` tells them apart)."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict, final

__all__ = [
    "DiagnosedServer",
    "FleetDocument",
    "FleetHead",
    "FleetLogsDocument",
    "LogFileRef",
    "PlacedCertificate",
    "ServerCause",
    "ServerEntry",
    "ServerLine",
    "UnreadableServer",
]

FleetVerdict = Literal["causes-found", "symptoms-unexplained", "incomplete", "no-cause-found"]


class PlacedCertificate(TypedDict):
    """A certificate a cause names, the store it sits in and that store's physical origin."""

    sha1: str
    subject: str
    store: str | None
    physical: list[str]
    origin: str


class FixRef(TypedDict):
    id: str
    title: str
    preferred: bool


class ServerCause(TypedDict):
    id: str
    key: str
    title: str
    confidence: str
    score: int
    summary: str
    certificates: list[PlacedCertificate]
    fixes: list[FixRef]


class LabelCount(TypedDict):
    label: str
    count: int


class _Diagnosed(TypedDict):
    server: str
    path: str
    status: str
    verdict: str
    exit_code: int
    format: str
    collected_at: str | None
    origins_recorded: bool
    causes: list[ServerCause]
    symptoms: list[LabelCount]
    unexplained: list[str]
    unexplained_likely: dict[str, list[str]]
    unread: list[str]
    errors: list[str]
    warnings: list[str]


class _Unreadable(TypedDict):
    server: str
    path: str
    status: Literal["unreadable"]
    verdict: Literal["unreadable"]
    exit_code: int
    error: str
    causes: list[ServerCause]  # always empty: kept so every entry has causes


@final
class DiagnosedServer(_Diagnosed):
    pass


@final
class UnreadableServer(_Unreadable):
    pass


ServerEntry = DiagnosedServer | UnreadableServer


@final
class DiagnosedServerLine(_Diagnosed):
    schema: Literal["certgate.fleet.server/1"]


@final
class UnreadableServerLine(_Unreadable):
    schema: Literal["certgate.fleet.server/1"]


ServerLine = DiagnosedServerLine | UnreadableServerLine


class FleetSummary(TypedDict):
    servers: int
    with_causes: int
    healthy: int
    unreadable: int
    rule_failed: int
    symptoms_unexplained: int
    incomplete: int


class CauseServers(TypedDict):
    id: str
    title: str
    servers: int
    server_names: list[str]


class FleetCertificate(TypedDict):
    sha1: str
    subject: str
    causes: list[str]
    servers: int
    server_names: list[str]
    stores: dict[str, int]
    physical: dict[str, int]


class IncompleteServer(TypedDict):
    server: str
    path: str
    unread: list[str]


class UnreadableRef(TypedDict):
    server: str
    path: str
    error: str


class FleetFix(TypedDict):
    id: str
    cause: str
    title: str
    certificates: list[PlacedCertificate]
    fixes: list[FixRef]
    servers: int
    server_names: list[str]


class FleetHead(TypedDict):
    """``certgate.fleet/1`` before its ``servers`` (streamed after it)."""

    schema: Literal["certgate.fleet/1"]
    at: str
    verdict: FleetVerdict
    summary: FleetSummary
    causes: list[CauseServers]
    certificates: list[FleetCertificate]
    healthy: list[str]
    rule_failed: list[str]
    symptoms_unexplained: list[str]
    incomplete: list[IncompleteServer]
    unreadable: list[UnreadableRef]
    fixes: list[FleetFix]


class FleetDocument(FleetHead):
    servers: list[ServerEntry]


# -- certgate.fleet-logs/1 ------------------------------------------------------------------


class LogFileRef(TypedDict):
    """One file read (``format`` and ``events`` only when the file could be opened)."""

    path: str
    format: NotRequired[str | None]
    events: NotRequired[int]
    error: str | None


class RefusedFile(LogFileRef):
    server: str


class LogsSummary(TypedDict):
    servers: int
    files: int
    refused: int
    events: int


class ServerOccurrence(TypedDict):
    time: str | None
    location: str
    server: str


class CodeAcross(TypedDict):
    code: str
    name: str
    meaning: str | None
    events: int
    servers: int
    first: ServerOccurrence | None
    last: ServerOccurrence | None


class ServerLogs(TypedDict):
    server: str
    files: int
    events: int
    first: str | None
    last: str | None
    codes: dict[str, int]


class HourBucket(TypedDict):
    start: str
    count: int


class HourTimeline(TypedDict):
    bucket_seconds: int
    buckets: list[HourBucket]


class FleetLogsDocument(TypedDict):
    schema: Literal["certgate.fleet-logs/1"]
    summary: LogsSummary
    codes: list[CodeAcross]
    servers: list[ServerLogs]
    timeline: HourTimeline
    client_ips: list[tuple[str, int]]
    thumbprints: list[tuple[str, int]]
    refused: list[RefusedFile]
