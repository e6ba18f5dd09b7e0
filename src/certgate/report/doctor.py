"""Render a diagnosis: the answer on one screen, then the details; or ``certgate.doctor/1``."""

from __future__ import annotations

from typing import Final

from rich.console import Console
from rich.table import Table

from certgate.core.doctor import (
    Action,
    Cause,
    ChangeGroupPolicy,
    Diagnosis,
    Evidence,
    FixCheck,
    ImportCertificates,
    Manual,
    MoveCertificates,
    MoveMappingSection,
    SetSchannelValue,
    Symptom,
    UpdateBinding,
    what_if_keys,
)
from certgate.core.logsummary import LogSummary, Occurrence
from certgate.core.physical import GPO_PATHS
from certgate.report._text import escape, escape_lines
from certgate.report.documents import (
    ActionJson,
    CauseJson,
    DoctorDocument,
    EvidenceJson,
    FixCheckJson,
    SymptomJson,
    TimelineJson,
    TimeLocationJson,
)
from certgate.report.jsonout import iso

__all__ = ["SCHEMA", "doctor_document", "print_doctor", "what_if_text"]

SCHEMA: Final = "certgate.doctor/1"
_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}


# -- JSON -------------------------------------------------------------------------------------


def doctor_document(diagnosis: Diagnosis) -> DoctorDocument:
    explained_by: dict[str, list[str]] = {}
    for cause in diagnosis.causes:
        for key in cause.explains:
            explained_by.setdefault(key, []).append(cause.id)
    return {
        "schema": SCHEMA,
        "at": iso(diagnosis.at),
        "verdict": diagnosis.verdict,
        "causes": [_cause(c) for c in diagnosis.causes],
        "symptoms": [_symptom(s, explained_by) for s in diagnosis.symptoms],
        "unexplained": [_symptom(s, explained_by) for s in diagnosis.unexplained],
        "clients": [
            {
                "sha1": client.leaf.sha1,
                "subject": str(client.leaf.subject),
                "source": client.source,
                "verdict": verdict.verdict,
                "code": verdict.code,
                "message": verdict.message,
                "iis_status": verdict.windows.iis_status if verdict.windows else None,
                "hresult": verdict.windows.hresult_hex if verdict.windows else None,
                "win32_status": verdict.windows.win32_status if verdict.windows else None,
                "wcf_native": verdict.windows.wcf_native if verdict.windows else None,
            }
            for client, verdict in diagnosis.clients
        ],
        "observed_clients": [
            {
                "subject": o.subject,
                "issuer": o.issuer,
                "thumbprint": o.thumbprint,
                "count": o.count,
                "location": o.location,
            }
            for o in diagnosis.observed
        ],
        "timeline": _timeline(diagnosis.timeline),
        "notes": list(diagnosis.notes),
        "errors": list(diagnosis.errors),
        "unread": list(diagnosis.unread),
        "set_aside": list(diagnosis.set_aside),
    }


def _cause(cause: Cause) -> CauseJson:
    return {
        "id": cause.id,
        "title": cause.title,
        "confidence": cause.confidence.value,
        "score": cause.score,
        "summary": cause.summary,
        "evidence": [_evidence(e) for e in cause.evidence],
        "fixes": [
            {
                "label": f.label,
                "id": f.id,
                "title": f.title,
                "preferred": f.preferred,
                "reboot": f.reboot,
                "notes": list(f.notes),
                "actions": [_action(a) for a in f.actions],
                "what_if_keys": [str(k) for a in f.actions for k in what_if_keys(a)],
            }
            for f in cause.fixes
        ],
        "what_if": [_check(c) for c in cause.what_if],
        "explains": list(cause.explains),
        "confidence_basis": list(cause.basis),
        "references": list(cause.references),
        "explanation": cause.explanation,
    }


def _evidence(evidence: Evidence) -> EvidenceJson:
    return {
        "kind": evidence.kind.value,
        "text": evidence.text,
        "source": evidence.source,
        "confidence": evidence.confidence.value,
        "sha1": evidence.sha1,
        "lines": list(evidence.lines),
    }


def _action(action: Action) -> ActionJson:
    if isinstance(action, MoveCertificates):
        return {
            "type": "move-certificates",
            "source": action.source,
            "target": action.target,
            "certificates": [{"sha1": r.sha1, "subject": r.subject} for r in action.certificates],
        }
    if isinstance(action, ChangeGroupPolicy):
        return {
            "type": "change-group-policy",
            "source": action.source,
            "target": action.target,
            "gpo_paths": [GPO_PATHS[action.source], GPO_PATHS[action.target]],
            "certificates": [{"sha1": r.sha1, "subject": r.subject} for r in action.certificates],
        }
    if isinstance(action, ImportCertificates):
        return {
            "type": "import-certificates",
            "store": action.store,
            "certificates": [
                {"sha1": c.sha1, "subject": str(c.subject)} for c in action.certificates
            ],
        }
    if isinstance(action, SetSchannelValue):
        return {
            "type": "set-schannel-value",
            "name": action.name,
            "value": action.value,
            "remove": list(action.remove),
            "reboot": action.reboot,
        }
    if isinstance(action, UpdateBinding):
        return {
            "type": "update-binding",
            "endpoint": action.binding.endpoint,
            "changes": dict(action.change.parameters),
        }
    if isinstance(action, MoveMappingSection):
        return {"type": "move-mapping-section", "path": action.path, "target": action.target}
    assert isinstance(action, Manual)
    return {"type": "manual", "text": action.text}


def _check(check: FixCheck) -> FixCheckJson:
    return {
        "fix": check.fix,
        "label": check.label,
        "modelled": check.modelled,
        "cause_gone": check.cause_gone,
        "works": check.works,
        "error": check.error or None,
        "clients": [
            {
                "sha1": c.sha1,
                "subject": c.subject,
                "before": c.before,
                "before_code": c.before_code,
                "after": c.after,
                "after_code": c.after_code,
                "accepted_after": c.accepted_after,
            }
            for c in check.clients
        ],
    }


def _occurrence(where: Occurrence) -> TimeLocationJson:
    return {"time": iso(where.time) if where.time else None, "location": where.location}


def _symptom(symptom: Symptom, explained_by: dict[str, list[str]]) -> SymptomJson:
    return {
        "key": symptom.key,
        "codes": list(symptom.codes),
        "label": symptom.label,
        "count": symptom.count,
        "first": _occurrence(symptom.first),
        "last": _occurrence(symptom.last),
        "sources": list(symptom.sources),
        "meaning": symptom.meaning,
        "likely_causes": list(symptom.likely),
        "explained_by": explained_by.get(symptom.key, []),
    }


def _timeline(summary: LogSummary | None) -> TimelineJson | None:
    if summary is None:
        return None
    return {
        "events": summary.events,
        "first": iso(summary.first) if summary.first else None,
        "last": iso(summary.last) if summary.last else None,
        "bucket_seconds": summary.bucket_seconds,
        "buckets": [{"start": iso(b.start), "count": b.count} for b in summary.histogram],
    }


# -- text -------------------------------------------------------------------------------------


def what_if_text(check: FixCheck) -> str:
    if not check.modelled:
        return "not modelled (outside the machine)"
    if check.error:
        return f"cannot apply: {check.error}"
    clients = "; ".join(f"{c.subject.split(',')[0]} {c.before} -> {c.after}" for c in check.clients)
    gone = "cause gone" if check.cause_gone else "cause remains"
    return f"{gone}; {clients}" if clients else f"{gone} (no sample client)"


def print_doctor(console: Console, diagnosis: Diagnosis) -> None:
    """One screen with the answer first, then evidence, symptoms, clients and unknowns."""
    _print_answer(console, diagnosis)
    console.rule("[dim]details[/]")
    for index, cause in enumerate(diagnosis.causes, 1):
        _print_evidence(console, index, cause)
    if diagnosis.symptoms:
        console.print(_symptom_table(diagnosis))
    for client, verdict in diagnosis.clients:
        state = "[green]accepted[/]" if verdict.accepted else f"[red]{escape(verdict.code)}[/]"
        message = verdict.message
        if verdict.accepted:
            message = message.removeprefix("accepted: ")
        console.print(
            f"Sample client {escape(str(client.leaf.subject))} [{client.leaf.sha1[:8]}]: "
            f"{state}: {escape(message)}"
        )
    if diagnosis.notes:
        console.print("[dim]Unknown, or Windows default assumed:[/]")
    for note in diagnosis.notes:
        console.print(f"[dim]  - {escape(note)}[/]")
    for error in diagnosis.errors:
        console.print(f"[yellow]rule failed (not counted as a cause): {escape(error)}[/]")


def _print_answer(console: Console, diagnosis: Diagnosis) -> None:
    verdict = diagnosis.verdict
    if verdict == "no-cause-found":
        console.print(
            "[bold green]No cause found.[/] Nothing in the configuration, the sample "
            "client certificates or the logs points to a client-certificate problem."
        )
    elif verdict == "incomplete":
        console.print(
            "[bold yellow]No cause found in what could be read[/], but some evidence could "
            "not be read, so this is no all-clear:"
        )
    elif verdict == "symptoms-unexplained":
        _print_unexplained(console, diagnosis)
    for unread in diagnosis.unread:
        console.print(f"  [yellow]not read:[/] {escape(unread)}")
    for index, cause in enumerate(diagnosis.causes, 1):
        style = _STYLE[cause.confidence.value]
        head = "ROOT CAUSE" if index == 1 else f"Cause {index}"
        console.print(
            f"[bold]{head}[/] [{style}]{cause.confidence.value} confidence[/] "
            f"[dim]{cause.id}[/]\n[bold]{escape(cause.title)}[/]"
        )
        if index == 1:
            console.print(escape_lines(cause.summary))
        for fix, check in zip(cause.fixes, cause.what_if, strict=True):
            tag = " (preferred)" if fix.preferred and len(cause.fixes) > 1 else ""
            console.print(
                f"  fix {fix.label}{tag}: {escape(fix.title)}\n"
                f"     what-if: {escape(what_if_text(check))}"
            )
    if diagnosis.unexplained and diagnosis.causes:
        labels = ", ".join(f"{s.count:,} {s.label}" for s in diagnosis.unexplained[:5])
        console.print(f"[yellow]Unexplained symptoms:[/] {escape(labels)}")
    for aside in diagnosis.set_aside:
        console.print(f"[dim]set aside (not client-certificate evidence): {escape(aside)}[/]")


def _print_unexplained(console: Console, diagnosis: Diagnosis) -> None:
    """Failures in the logs that no cause explains: name them and their likely causes."""
    unknown = len(diagnosis.notes)
    console.print(
        "[bold yellow]Client-certificate failures in the logs, no cause proven[/]: nothing "
        "in the configuration given explains them"
        + (f" ({unknown} part(s) of it unknown, listed below)" if unknown else "")
        + "; the stores, SCHANNEL values, bindings and IIS settings are what prove a cause."
    )
    for symptom in diagnosis.unexplained[:5]:
        console.print(
            f"[bold]{symptom.count:,} {escape(symptom.label)}[/] "
            f"(first at {escape(symptom.first.location)})"
        )
        if symptom.meaning:
            console.print(f"  {escape(symptom.meaning)}")
        if symptom.likely:
            console.print("  Likely causes, most likely first:")
        for index, text in enumerate(symptom.likely, 1):
            console.print(f"   {index}. {escape(text)}")


def _print_evidence(console: Console, index: int, cause: Cause) -> None:
    console.print(f"[bold]{index}. {escape(cause.title)}[/] [dim]{cause.id}[/]")
    if cause.basis:
        console.print(
            f"   [dim]{cause.confidence.value} confidence: {escape('; '.join(cause.basis))}[/]"
        )
    for evidence in cause.evidence:
        mark = "" if evidence.confidence.value == "confirmed" else "yellow"
        text = escape(str(evidence))
        console.print(f"   - [{mark}]{text}[/]" if mark else f"   - {text}")
    if cause.references:
        console.print(f"   [dim]references: {escape(', '.join(cause.references))}[/]")


def _symptom_table(diagnosis: Diagnosis) -> Table:
    table = Table(title="Symptoms in the logs", title_justify="left")
    for column in ("Count", "Symptom", "First", "Last", "Explained by"):
        table.add_column(column, overflow="fold")
    explained = {key: c.id for c in diagnosis.causes for key in c.explains}
    for s in diagnosis.symptoms:
        table.add_row(
            f"{s.count:,}",
            escape(s.label),
            escape(_when(s.first)),
            escape(_when(s.last)),
            escape(explained[s.key]) if s.key in explained else "[yellow]unexplained[/]",
        )
    return table


def _when(where: Occurrence) -> str:
    stamp = f"{where.time:%Y-%m-%d %H:%M:%S} " if where.time else ""
    return f"{stamp}{where.location}"
