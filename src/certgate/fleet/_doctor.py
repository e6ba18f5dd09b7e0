"""The per-bundle work of ``certgate fleet doctor``: one function, run on a worker, that reads a
bundle where it lies, diagnoses it and returns a small, picklable report (never the machine).

Nothing escapes it: an unreadable bundle, or a bug, becomes an ``unreadable`` entry with the
reason, so one bad bundle never stops a fleet run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final, cast

from certgate.core.doctor import (
    Action,
    Cause,
    ChangeGroupPolicy,
    Diagnosis,
    EvidenceKind,
    ImportCertificates,
    MoveCertificates,
    SymptomBuilder,
    UpdateBinding,
    diagnose,
)
from certgate.core.kb import knowledge_base, likely_causes
from certgate.core.physical import COLLECTED_STORES
from certgate.core.stores import Machine
from certgate.errors import CertgateError
from certgate.fleet._documents import (
    DiagnosedServer,
    FixRef,
    PlacedCertificate,
    ServerCause,
    ServerEntry,
    ServerLine,
    UnreadableServer,
)
from certgate.fleet._fetch import fetched, is_url, url_name
from certgate.inputs import Request, load
from certgate.inputs.bundle import LoadedMachine
from certgate.logs import LogScan

__all__ = [
    "DoctorTask",
    "FixGroup",
    "ServerReport",
    "diagnose_bundle",
    "server_line",
    "server_name",
    "unreadable_report",
]

SERVER_SCHEMA: Final = "certgate.fleet.server/1"
STATUS_EXIT = {
    "no-cause-found": 0,
    "incomplete": 0,
    "causes-found": 1,
    "symptoms-unexplained": 1,
    "unreadable": 2,
    "rule-failed": 3,
}


@dataclass(frozen=True)
class DoctorTask:
    path: str
    at: datetime
    fixes: bool = False  # render each cause's fix files (for --fix-dir)


@dataclass(frozen=True)
class FixGroup:
    """One cause with one set of certificates and fixes: servers that share it share a fix."""

    key: str
    cause: str
    title: str
    certificates: tuple[PlacedCertificate, ...]
    fixes: tuple[FixRef, ...]
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerReport:
    entry: ServerEntry  # the server's entry in certgate.fleet/1
    groups: tuple[FixGroup, ...] = ()


def diagnose_bundle(task: DoctorTask) -> ServerReport:
    try:
        return _diagnose(task)
    except CertgateError as exc:
        return unreadable_report(task.path, exc.diagnostics())
    except Exception as exc:  # a bug: say it for this bundle, keep the fleet going
        return unreadable_report(task.path, f"internal error: {type(exc).__name__}: {exc}")


def server_name(path: str, loaded: LoadedMachine | None = None) -> str:
    """The manifest's host name, else the bundle's folder or zip name."""
    host = dict(loaded.collected).get("host", "") if loaded else ""
    return host.strip() or (url_name(path) if is_url(path) else Path(path).stem) or path


def unreadable_report(path: str, error: str) -> ServerReport:
    entry: UnreadableServer = {
        "server": server_name(path),
        "path": path,
        "status": "unreadable",
        "verdict": "unreadable",
        "exit_code": STATUS_EXIT["unreadable"],
        "error": error,
        "causes": [],
    }
    return ServerReport(entry)


def server_line(entry: ServerEntry) -> ServerLine:
    """One ``--jsonl`` line: the server's entry as a ``certgate.fleet.server/1`` document."""
    if "error" in entry:
        return {"schema": SERVER_SCHEMA, **entry}
    return {"schema": SERVER_SCHEMA, **entry}


def _diagnose(task: DoctorTask) -> ServerReport:
    if not is_url(task.path):
        return _diagnose_at(task, task.path)
    with fetched(task.path) as local:
        try:
            return _relocated(_diagnose_at(task, str(local)), str(local), task.path)
        except CertgateError as exc:
            return unreadable_report(task.path, exc.diagnostics().replace(str(local), task.path))


def _relocated(report: ServerReport, local: str, url: str) -> ServerReport:
    """Name the URL, not the temporary file, in everything the report says."""
    import json

    text = json.dumps(report.entry).replace(json.dumps(local)[1:-1], url)
    entry = cast(ServerEntry, json.loads(text))  # the same entry, only strings changed
    return ServerReport(entry, report.groups)


def _diagnose_at(task: DoctorTask, where: str) -> ServerReport:
    loaded = load(Request(where)).bundle
    assert loaded is not None  # load raises when a bundle cannot be read
    builder = SymptomBuilder()
    unread = _read_logs(builder, loaded)
    kb = knowledge_base()
    diagnosis = diagnose(
        loaded.machine,
        task.at,
        symptoms=builder,
        describe=kb.describe,
        likely=likely_causes,
        unread=unread,
    )
    # the doctor's own verdict and exit code; a failed rule is the fleet's one extra status
    exit_code = int(diagnosis.exit_code)
    status = "rule-failed" if exit_code == STATUS_EXIT["rule-failed"] else diagnosis.verdict
    causes = [_cause(cause, loaded.machine) for cause in diagnosis.causes]
    groups = tuple(
        _group(index, cause, entry, diagnosis, task.fixes)
        for index, (cause, entry) in enumerate(zip(diagnosis.causes, causes, strict=True), 1)
    )
    entry: DiagnosedServer = {
        "server": server_name(task.path, loaded),
        "path": task.path,
        "status": status,
        "verdict": diagnosis.verdict,
        "exit_code": exit_code,
        "format": loaded.format,
        "collected_at": dict(loaded.collected).get("collected_at"),
        "origins_recorded": loaded.machine.physical is not None,
        "causes": causes,
        "symptoms": [{"label": s.label, "count": s.count} for s in diagnosis.symptoms],
        "unexplained": [s.label for s in diagnosis.unexplained],
        "unexplained_likely": {s.label: list(s.likely) for s in diagnosis.unexplained if s.likely},
        "unread": list(diagnosis.unread),
        "errors": list(diagnosis.errors),
        "warnings": [str(w) for w in loaded.warnings] + unread,
    }
    return ServerReport(entry, groups)


def _read_logs(builder: SymptomBuilder, loaded: LoadedMachine) -> list[str]:
    if not loaded.logs:
        return []
    container = loaded.logs[0].container
    inputs = [str(container)] if loaded.format == "zip" else [f.display for f in loaded.logs]
    scan = LogScan(inputs)
    for event in scan:
        builder.add(event)
    zipped = loaded.format == "zip"
    return [
        f"{item.path}: {item.error}"
        for item in scan.files
        if item.error and (not zipped or "logs/" in item.path)
    ]


def _cause(cause: Cause, machine: Machine) -> ServerCause:
    return {
        "id": cause.id,
        "key": cause.key,
        "title": cause.title,
        "confidence": cause.confidence.value,
        "score": cause.score,
        "summary": cause.summary,
        "certificates": _certificates(cause, machine),
        "fixes": [{"id": f.id, "title": f.title, "preferred": f.preferred} for f in cause.fixes],
    }


def _certificates(cause: Cause, machine: Machine) -> list[PlacedCertificate]:
    """The certificates a cause names (its fixes act on, or its evidence cites), each with the
    store it sits in and that store's physical origin."""
    subjects: dict[str, str] = {}
    for fix in cause.fixes:
        for action in fix.actions:
            if isinstance(action, MoveCertificates | ChangeGroupPolicy):
                subjects.update({r.sha1: r.subject for r in action.certificates})
            elif isinstance(action, ImportCertificates):
                subjects.update({c.sha1: str(c.subject) for c in action.certificates})
    for evidence in cause.evidence:
        if evidence.sha1 and evidence.kind is EvidenceKind.CERTIFICATE:
            subjects.setdefault(evidence.sha1, "")
    return [_placed(sha1, subject, machine) for sha1, subject in sorted(subjects.items())]


def _placed(sha1: str, subject: str, machine: Machine) -> PlacedCertificate:
    store = next((s.name for s in machine.stores if s.find(sha1)), None)
    if store is None:
        store = next((c.store for c in machine.listed if c.thumbprint == sha1), None)
    if not subject and store:
        found = machine.store(store).find(sha1)
        subject = str(found[0].subject) if found else ""
    if store in COLLECTED_STORES:
        origin = machine.origin(store, sha1)
        physical, label = [p.value for p in origin.physical], origin.label()
    else:
        physical, label = [], "not in a recorded store" if store else "not in a store"
    return {"sha1": sha1, "subject": subject, "store": store, "physical": physical, "origin": label}


def _group(
    index: int, cause: Cause, entry: ServerCause, diagnosis: Diagnosis, render: bool
) -> FixGroup:
    fixes = tuple(entry["fixes"])
    identity = "|".join(
        [
            cause.id,
            cause.key,
            ",".join(f"{c['sha1']}:{c['origin']}" for c in entry["certificates"]),
            *(f"{f.id}:{';'.join(_action_identity(a) for a in f.actions)}" for f in cause.fixes),
        ]
    )
    key = hashlib.sha256(identity.encode()).hexdigest()[:12]
    files = _fix_files(index, cause, diagnosis) if render else {}
    return FixGroup(key, cause.id, cause.title, tuple(entry["certificates"]), fixes, files)


def _action_identity(action: Action) -> str:
    """What makes a fix's scripts what they are: servers whose fixes differ in it (a binding's
    certificate hash, a value) must not share one script."""
    if isinstance(action, MoveCertificates | ChangeGroupPolicy):
        refs = ",".join(sorted(r.sha1 for r in action.certificates))
        return f"{type(action).__name__}:{action.source}>{action.target}:{refs}"
    if isinstance(action, ImportCertificates):
        return f"import:{action.store}:{','.join(sorted(c.sha1 for c in action.certificates))}"
    if isinstance(action, UpdateBinding):  # spelled as before the typed change: same keys
        return f"UpdateBinding(binding={action.binding!r}, changes={action.change.parameters!r})"
    return repr(action)  # values only: bindings, Schannel values, paths, manual text


def _fix_files(index: int, cause: Cause, diagnosis: Diagnosis) -> dict[str, bytes]:
    """The cause's fix folders without the server's own store files (they differ per server)."""
    from certgate.remedy import cause_fix_files

    files = cause_fix_files(index, cause, diagnosis.machine)
    return {name.split("/", 1)[1]: data for name, data in files.items() if "/stores/" not in name}
