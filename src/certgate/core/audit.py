"""Audit a machine's stores: run every audit rule at a given time, collect the findings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from certgate.core.issuers import IssuerList
from certgate.core.rules import AUDIT_RULES, AuditContext, Finding, Severity, sort_key
from certgate.core.stores import Machine

__all__ = ["AuditReport", "audit"]


@dataclass(frozen=True)
class AuditReport:
    machine: Machine
    at: datetime
    findings: tuple[Finding, ...]
    issuer_list: IssuerList

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def at_or_above(self, threshold: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity.rank >= threshold.rank]


def audit(machine: Machine, at: datetime) -> AuditReport:
    """Judge ``machine`` at time ``at`` (aware datetime; the core never reads the clock)."""
    if at.tzinfo is None:
        raise ValueError("audit time must be timezone-aware")
    context = AuditContext(machine, at)
    findings = sorted(AUDIT_RULES.run(context), key=sort_key)
    return AuditReport(machine, at, tuple(findings), context.issuer_list)
