"""Render an audit: a table of findings and a one-line verdict, or one JSON document."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring as _string  # as json.dumps(ensure_ascii=False)
from typing import IO, TYPE_CHECKING, Final

from certgate.core.audit import AuditReport
from certgate.core.issuers import ISSUER_LIST_LIMIT
from certgate.core.listing import ListedCertificate
from certgate.core.model import Certificate
from certgate.core.rules import Finding, Severity
from certgate.formats import LoadWarning
from certgate.report.jsonout import (
    cert_detail,
    dump_row_lines,
    iso,
    json_line,
    json_text,
    name_problems,
)

if TYPE_CHECKING:  # annotations only: not imported on every audit's start-up (nor is rich
    # by `audit --json`: the console helpers import it when they print)
    from rich.console import Console
    from rich.table import Table

    from certgate.report.documents import (
        AuditDocument,
        AuditFindingJson,
        AuditListedJson,
        CertRefJson,
        ListedRefJson,
        StoredCertDetailJson,
    )

__all__ = [
    "ROWS_PER_RULE",
    "SCHEMA",
    "RowSpool",
    "audit_document",
    "print_audit",
    "write_audit_json",
]

SCHEMA: Final = "certgate.audit/1"
# Rows shown per rule in the console table unless --all: a store of 10,000 roots can give
# thousands of findings of one rule, which nobody reads as rows (the JSON has every one).
ROWS_PER_RULE = 10

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def verdict(report: AuditReport, fail_on: Severity | None) -> tuple[bool, str]:
    """(failed, one-line verdict)."""
    counts = (
        f"{report.count(Severity.ERROR)} error(s), {report.count(Severity.WARNING)} warning(s), "
        f"{report.count(Severity.INFO)} info"
    )
    if fail_on is None:
        return False, f"REPORTED: {counts} (--fail-on never)"
    failing = report.at_or_above(fail_on)
    if failing:
        return True, f"FAIL: {counts}; {len(failing)} at or above {fail_on.value}"
    return False, f"PASS: {counts}; nothing at or above {fail_on.value}"


def audit_document(
    report: AuditReport, fail_on: Severity | None, warnings: tuple[LoadWarning, ...]
) -> AuditDocument:
    """The whole document, for a report of a machine held in memory (``audit(machine)``)."""
    return {**_document(report, fail_on, warnings), "certificates": list(_rows(report))}


def write_audit_json(
    write: Callable[[str], object],
    report: AuditReport,
    fail_on: Severity | None,
    warnings: tuple[LoadWarning, ...],
    rows: Iterable[str] | None = None,
) -> None:
    """``dumps(audit_document(...))`` and a newline, the certificate rows written one at a
    time: memory for the report does not grow with the store. ``rows``: the rows' lines
    (``RowSpool.lines``) of a streamed audit; by default made from ``report.machine``."""
    lines = rows if rows is not None else (json_line(row) for row in _rows(report))
    dump_row_lines(_document(report, fail_on, warnings), "certificates", lines, write)
    write("\n")


def certificate_row(store: str, cert: Certificate) -> StoredCertDetailJson:
    return {**cert_detail(cert), "store": store}


def _nullable(value: str | None) -> str:
    return "null" if value is None else _string(value)


def certificate_line(store: str, cert: Certificate) -> str:
    """``json_line(certificate_row(store, cert))``, written straight from the certificate's
    fields: no row dictionaries, no encoder walking them (the streamed audit makes one per
    certificate; ``tests/test_audit_stream.py`` holds the two equal)."""
    constraints = cert.basic_constraints
    subject = str(cert.subject)
    issuer = str(cert.issuer)
    status = cert.self_signed.value
    if constraints is None:
        ca = path_length = "null"
    else:
        ca = "true" if constraints.ca else "false"
        length = constraints.path_length
        path_length = "null" if length is None else int.__repr__(length)
    issues = [*cert.parse_issues, *name_problems(cert)]
    return json_text(
        f'{{"sha1": {_string(cert.sha1)}, "subject": {_string(subject)}, '
        f'"issuer": {_string(issuer)}, "sha256": {_string(cert.sha256)}, '
        f'"serial": {_string(cert.serial_hex)}, '
        f'"self_signed": {"true" if status == "yes" else "false"}, '
        f'"self_signed_status": {_string(status)}, "ca": {ca}, "path_length": {path_length}, '
        f'"not_before": {_string(iso(cert.not_before))}, '
        f'"not_after": {_string(iso(cert.not_after))}, "key": {_string(str(cert.key_info))}, '
        f'"signature_algorithm": {_string(cert.signature_algorithm.name)}, '
        f'"source": {_string(cert.source)}, "friendly_name": {_nullable(cert.friendly_name)}, '
        f'"parse_issues": [{", ".join(map(_string, issues))}], "store": {_string(store)}}}'
    )


def _rows(report: AuditReport) -> Iterator[StoredCertDetailJson]:
    for store in report.machine.stores:
        for cert in store:
            yield certificate_row(store.name, cert)


class RowSpool:
    """The JSON rows of a streamed audit, made as each certificate is judged and kept in a
    temporary file per store (deleted on ``close``), then read back in the report's store
    order: the document lists its stores, with their counts, before the rows."""

    def __init__(self) -> None:
        self._files: dict[str, IO[str]] = {}

    def add(self, store: str, cert: Certificate) -> None:
        spool = self._files.get(store)
        if spool is None:
            spool = tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed by close()
            self._files[store] = spool
        spool.write(certificate_line(store, cert) + "\n")

    def lines(self, stores: Iterable[str]) -> Iterator[str]:
        for name in stores:
            spool = self._files.get(name)
            if spool is None:
                continue
            spool.seek(0)
            for line in spool:
                yield line[:-1]

    def close(self) -> None:
        for spool in self._files.values():
            spool.close()
        self._files.clear()

    def __enter__(self) -> RowSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _document(
    report: AuditReport, fail_on: Severity | None, warnings: tuple[LoadWarning, ...]
) -> AuditDocument:
    failed, line = verdict(report, fail_on)
    issuers = report.issuer_list
    return {
        "schema": SCHEMA,
        "at": iso(report.at),
        "stores": [{"name": s.name, "count": s.count} for s in report.stores],
        "certificates": [],  # the rows: audit_document / write_audit_json
        "listed_certificates": [_listed(c) for c in report.machine.listed],
        "findings": [_finding(f) for f in report.findings],
        "issuer_list": {
            "source": issuers.source,
            "reason": issuers.reason,
            "count": issuers.count,
            "bytes": issuers.size,
            "limit": ISSUER_LIST_LIMIT,
            "mixed_root": issuers.mixed_root,
        },
        "summary": {
            "errors": report.count(Severity.ERROR),
            "warnings": report.count(Severity.WARNING),
            "info": report.count(Severity.INFO),
            "fail_on": fail_on.value if fail_on else "never",
            "verdict": "fail" if failed else "pass",
            "message": line,
        },
        "warnings": [str(w) for w in warnings],
        "unknowns": list(report.machine.notes),
    }


def _listed(c: ListedCertificate) -> AuditListedJson:
    return {
        "sha1": c.thumbprint,
        "subject": c.subject,
        "issuer": c.issuer,
        "store": c.store,
        "not_before": iso(c.not_before) if c.not_before else None,
        "not_after": iso(c.not_after) if c.not_after else None,
        "source": c.source,
        "listed": True,
    }


def _certificate(finding: Finding) -> CertRefJson | ListedRefJson | None:
    summary = finding.summary
    if summary is not None:  # what jsonout.cert_ref writes, from the summary
        return {"sha1": summary.sha1, "subject": summary.subject, "issuer": summary.issuer}
    if finding.listed is not None:
        listed = finding.listed
        return {
            "sha1": listed.thumbprint,
            "subject": listed.subject,
            "issuer": listed.issuer,
            "listed": True,
        }
    return None


def _finding(finding: Finding) -> AuditFindingJson:
    return {
        "id": finding.rule,
        "severity": finding.severity.value,
        "title": finding.title,
        "store": finding.store,
        "certificate": _certificate(finding),
        "message": finding.message,
        "references": list(finding.references),
        "fix": finding.fix,
        "evidence": list(finding.evidence),
    }


def print_audit(
    console: Console, report: AuditReport, fail_on: Severity | None, *, every_row: bool = False
) -> None:
    """The findings table (``ROWS_PER_RULE`` rows per rule, the rest counted, unless
    ``every_row``), the copy-paste fixes for misplaced intermediates, the issuer list, the
    verdict."""
    from certgate.report._text import escape

    machine = report.machine
    stores = [f"{s.name} ({s.count})" for s in report.stores]
    stores += [f"{n} ({len(machine.listed_in(n))} listed)" for n in machine.listed_store_names()]
    console.print(f"Audited {', '.join(stores) or 'no stores'} at {report.at:%Y-%m-%d %H:%M} UTC")
    if report.findings:
        console.print(_table(report.findings, None if every_row else ROWS_PER_RULE))
    else:
        console.print("No findings.")
    _print_moves(console, report.findings)
    issuers = report.issuer_list
    console.print(
        f"Trusted-issuer list: {issuers.source}, {issuers.count} CA(s), "
        f"{issuers.size:,} of {ISSUER_LIST_LIMIT:,} bytes"
        + (
            " [reduced to the non-self-signed certificates: KB 2802568]"
            if issuers.mixed_root
            else ""
        ),
        markup=False,
    )
    if machine.notes:
        console.print("Unknown, or Windows default assumed:")
        for note in machine.notes:
            console.print(f"  - {note}", markup=False)
    failed, line = verdict(report, fail_on)
    console.print(f"[{'bold red' if failed else 'bold green'}]{escape(line)}[/]")


def _print_moves(console: Console, findings: tuple[Finding, ...]) -> None:
    """One fix for every misplaced intermediate: the steps once, a ``Move-Item`` line per
    certificate. Command lines (indented) are never wrapped: they are meant to be copied into
    PowerShell as they are, and they fit 80 columns."""
    from certgate.report._text import escape

    moves = [
        (subject, finding)
        for finding in findings
        if finding.rule == "root::not-self-signed"
        and (subject := finding.summary or finding.listed) is not None
    ]
    if not moves:
        return
    labels = ", ".join(subject.label for subject, _ in moves)
    console.print(f"\n[bold red]Fix for {len(moves)} certificate(s):[/] {escape(labels)}")
    texts = [finding.fix.splitlines() for _, finding in moves]
    lines: list[str] = []
    for index in range(len(texts[0])):
        lines += dict.fromkeys(text[index] for text in texts if index < len(text))
    prose: list[str] = []
    for line in [*lines, "  "]:
        if not line.startswith("  "):
            prose.append(line.strip())
            continue
        if prose:
            console.print(escape(" ".join(prose)))
            prose = []
        if line.strip():
            console.print(escape(line), soft_wrap=True)


def _table(findings: tuple[Finding, ...], per_rule: int | None) -> Table:
    from rich.table import Table

    from certgate.report._text import escape

    table = Table(show_lines=False, expand=False)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Rule", no_wrap=True)
    table.add_column("Store", no_wrap=True)
    table.add_column("Certificate")
    table.add_column("Finding")
    shown: dict[str, int] = {}
    hidden: dict[str, tuple[Severity, int]] = {}
    for f in findings:
        count = shown.get(f.rule, 0)
        if per_rule is not None and count >= per_rule:
            before = hidden.get(f.rule, (f.severity, 0))
            hidden[f.rule] = (max(before[0], f.severity, key=lambda s: s.rank), before[1] + 1)
            continue
        shown[f.rule] = count + 1
        cert = f.summary.label if f.summary else "-"
        if f.listed is not None:
            cert = f"{f.listed.label} (listed)"
        message = f.message + "".join(f"\n  [{e}]" for e in f.evidence if f.listed)
        table.add_row(
            f"[{_STYLE[f.severity]}]{f.severity.value}[/]",
            escape(f.rule),
            escape(f.store or "-"),
            escape(cert),
            escape(message),
        )
    for rule, (severity, more) in hidden.items():
        table.add_row(
            f"[{_STYLE[severity]}]{severity.value}[/]",
            escape(rule),
            "",
            "",
            f"[italic]... and {more:,} more like this (--all lists every row; --json has all)[/]",
        )
    return table
