"""Audit a machine's stores: run every audit rule at a given time, collect the findings.

The audit streams (issue 17): ``AuditScan`` judges each certificate as it is fed and keeps only
the findings and compact per-store tallies (``core.rules._tally``), so whoever feeds it may drop
the certificate at once. ``audit(machine, at)`` feeds a machine already in memory; ``certgate
audit`` feeds certificates straight from the file readers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from certgate.core.issuers import IssuerListSummary
from certgate.core.model import Certificate
from certgate.core.rules import AUDIT_RULES, AuditContext, Finding, Rule, Severity, sort_key
from certgate.core.rules._registry import CheckFn
from certgate.core.rules._tally import StoreTally, thumbprint_digest
from certgate.core.stores import Machine, canonical_store_name

__all__ = ["AuditReport", "AuditScan", "StoreCount", "audit"]


@dataclass(frozen=True)
class StoreCount:
    """A store that was audited and how many certificates it holds (duplicates included)."""

    name: str
    count: int


@dataclass(frozen=True)
class AuditReport:
    """The findings; ``machine`` gives the settings, listings and notes (a streamed audit's
    machine does not hold the certificates: ``stores`` says what was audited)."""

    machine: Machine
    at: datetime
    findings: tuple[Finding, ...]
    issuer_list: IssuerListSummary
    stores: tuple[StoreCount, ...] = ()

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def at_or_above(self, threshold: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity.rank >= threshold.rank]


class AuditScan:
    """An audit in progress: ``add`` each certificate (in store order), then ``finish``.

    ``keep_certificates``: findings keep the certificate object they are about (an audit of a
    machine already in memory, whose callers compare them); otherwise only its summary, so the
    memory an audit holds is bounded by its findings, not by the stores.
    """

    def __init__(self, machine: Machine, at: datetime, *, keep_certificates: bool = False) -> None:
        if at.tzinfo is None:
            raise ValueError("audit time must be timezone-aware")
        self.context = AuditContext(machine, at)
        self.keep_certificates = keep_certificates
        # (rule position, check position, rule, check) of every per-certificate check
        self._each: list[tuple[int, int, Rule[AuditContext], CheckFn[AuditContext]]] = [
            (index, position, rule, rule.checks[position])
            for index, rule in enumerate(AUDIT_RULES)
            for position in sorted(rule.each_checks)
        ]
        self._found: list[tuple[tuple[int, int, int], Finding]] = []

    def touch(self, store: str) -> StoreTally:
        """Store ``store`` was (re)loaded: it moves to the end of the store order, as
        ``Machine.with_store`` moves a replaced store (the order reports list stores in)."""
        name = canonical_store_name(store)
        order = self.context.order
        if name in self.context.tallies:
            order.remove(name)
        order.append(name)
        return self.context.tallies.setdefault(name, StoreTally(name, keep=self.keep_certificates))

    def add(self, store: str, cert: Certificate) -> None:
        """Judge ``cert``, one of store ``store``'s certificates, now."""
        context = self.context
        tally = context.tallies.get(store)
        if tally is None:
            name = canonical_store_name(store)
            tally = context.tallies.get(name) or self.touch(name)
            store = name
        tally.see(cert, thumbprint_digest(cert))
        context.cert, context.store = cert, store
        found = self._found
        keep = self.keep_certificates
        try:
            for index, position, rule, check in self._each:  # Rule.run_check, inlined
                try:
                    hits = check(context)
                    if hits.__class__ is not tuple:  # per-certificate checks return tuples
                        hits = tuple(hits)
                except Exception as exc:
                    found.append(((index, position, len(found)), rule.failure(exc)))
                    continue
                for hit in hits:
                    found.append(((index, position, len(found)), rule.finding(hit, keep)))
        finally:
            context.cert = None

    def add_all(self, store: str, certs: Iterable[Certificate]) -> None:
        for cert in certs:
            self.add(store, cert)

    def finish(self, machine: Machine | None = None) -> AuditReport:
        """Run the rules that need every store, and sort the findings (severity, store, rule,
        message; ties in the order the rules found them). ``machine``: the final settings,
        bindings and listings, if they changed since the scan began."""
        context = self.context
        if machine is not None:
            context.machine = machine
        found = self._found
        for index, rule in enumerate(AUDIT_RULES):
            for position in range(len(rule.checks)):
                if position in rule.each_checks:
                    continue
                for finding in rule.run_check(
                    position, context, keep_certificate=self.keep_certificates
                ):
                    found.append(((index, position, len(found)), finding))
        found.sort(key=lambda item: (sort_key(item[1]), item[0]))
        stores = tuple(StoreCount(name, context.tallies[name].count) for name in context.order)
        return AuditReport(
            context.machine,
            context.at,
            tuple(finding for _, finding in found),
            context.issuer_list,
            stores,
        )


def audit(machine: Machine, at: datetime) -> AuditReport:
    """Judge ``machine`` at time ``at`` (aware datetime; the core never reads the clock)."""
    scan = AuditScan(machine, at, keep_certificates=True)
    for store in machine.stores:
        scan.touch(store.name)
        scan.add_all(store.name, store.certificates)
    return scan.finish()
