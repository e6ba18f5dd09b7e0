"""Render an audit: a table of findings and a one-line verdict, or one JSON document."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from certgate.core.audit import AuditReport
from certgate.core.issuers import ISSUER_LIST_LIMIT
from certgate.core.rules import Finding, Severity
from certgate.formats import LoadWarning
from certgate.report.jsonout import cert_detail, cert_ref, iso

__all__ = ["SCHEMA", "audit_document", "print_audit"]

SCHEMA = "certgate.audit/1"

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
) -> dict[str, Any]:
    failed, line = verdict(report, fail_on)
    issuers = report.issuer_list
    return {
        "schema": SCHEMA,
        "at": iso(report.at),
        "stores": [{"name": s.name, "count": len(s)} for s in report.machine.stores],
        "certificates": [
            {**cert_detail(cert), "store": store.name}
            for store in report.machine.stores
            for cert in store
        ],
        "findings": [_finding(f) for f in report.findings],
        "issuer_list": {
            "source": issuers.source,
            "reason": issuers.reason,
            "count": len(issuers.certificates),
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
    }


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.rule,
        "severity": finding.severity.value,
        "title": finding.title,
        "store": finding.store,
        "certificate": cert_ref(finding.certificate) if finding.certificate else None,
        "message": finding.message,
        "references": list(finding.references),
        "fix": finding.fix,
        "evidence": list(finding.evidence),
    }


def print_audit(console: Console, report: AuditReport, fail_on: Severity | None) -> None:
    stores = ", ".join(f"{s.name} ({len(s)})" for s in report.machine.stores) or "no stores"
    console.print(f"Audited {stores} at {report.at:%Y-%m-%d %H:%M} UTC")
    if report.findings:
        console.print(_table(report.findings))
    else:
        console.print("No findings.")
    for finding in report.findings:
        if finding.rule == "root::not-self-signed" and finding.certificate is not None:
            # Never wrapped: these lines are meant to be copied into PowerShell as they are.
            console.print(f"\n[bold red]Fix for {escape(finding.certificate.label)}:[/]")
            console.print(escape(finding.fix), soft_wrap=True)
    issuers = report.issuer_list
    console.print(
        f"Trusted-issuer list: {issuers.source}, {len(issuers.certificates)} CA(s), "
        f"{issuers.size:,} of {ISSUER_LIST_LIMIT:,} bytes"
        + (
            " [reduced to the non-self-signed certificates: KB 2802568]"
            if issuers.mixed_root
            else ""
        ),
        markup=False,
    )
    failed, line = verdict(report, fail_on)
    console.print(f"[{'bold red' if failed else 'bold green'}]{escape(line)}[/]")


def _table(findings: tuple[Finding, ...]) -> Table:
    table = Table(show_lines=False, expand=False)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Rule", no_wrap=True)
    table.add_column("Store", no_wrap=True)
    table.add_column("Certificate")
    table.add_column("Finding")
    for f in findings:
        cert = f.certificate.label if f.certificate else "-"
        table.add_row(
            f"[{_STYLE[f.severity]}]{f.severity.value}[/]",
            escape(f.rule),
            escape(f.store or "-"),
            escape(cert),
            escape(f.message),
        )
    return table
