"""A decorator registry for rules: id from the decorator, explanation from the docstring.

Modelled on x509-limbo's registry: an id is ``family::name``, registering one twice is an
error, and every rule carries its severity, references and fix with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from inspect import cleandoc
from typing import Any, Generic, TypeVar

from certgate.core.listing import ListedCertificate
from certgate.core.model import Certificate
from certgate.core.rule_ids import checked_id, explanation, unregistered

__all__ = ["CertSummary", "Finding", "Hit", "Registry", "Rule", "Severity"]

C = TypeVar("C")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


@dataclass(frozen=True, slots=True)
class CertSummary:
    """What a finding keeps of its certificate: enough to name it and find it again (the
    thumbprint), not the certificate. A streamed audit of 100,000 certificates keeps one of
    these per finding instead of the parsed certificate (issue 17)."""

    sha1: str
    subject: str
    issuer: str
    label: str  # Certificate.label: the CN (or whole subject) and the first thumbprint digits

    @classmethod
    def of(cls, cert: Certificate) -> CertSummary:
        return cls(cert.sha1, str(cert.subject), str(cert.issuer), cert.label)


@dataclass(frozen=True)
class Hit:
    """What a rule's check yields: the subject of the finding and a specific message."""

    message: str
    certificate: Certificate | None = None
    store: str | None = None
    severity: Severity | None = None  # overrides the rule's default
    evidence: tuple[str, ...] = ()
    fix: str | None = None  # overrides the rule's fix text
    listed: ListedCertificate | None = None  # a certificate known only from a listing
    # The certificate's summary when the certificate itself is no longer at hand (a streamed
    # audit decides some rules after the certificates were dropped).
    summary: CertSummary | None = None


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    title: str
    message: str
    certificate: Certificate | None = None
    store: str | None = None
    references: tuple[str, ...] = ()
    fix: str = ""
    evidence: tuple[str, ...] = ()
    listed: ListedCertificate | None = None
    # The certificate named compactly; set whenever the finding is about a certificate (a
    # streamed audit keeps only this, ``certificate`` is then None).
    summary: CertSummary | None = None


CheckFn = Callable[[C], Iterable[Hit]]


@dataclass(frozen=True)
class Rule(Generic[C]):
    id: str
    severity: Severity
    title: str
    explanation: str
    references: tuple[str, ...]
    fix: str
    check: Callable[[C], Iterable[Hit]] = field(repr=False)
    # Further checks for the same finding on other evidence (Registry.also), run after ``check``.
    more_checks: tuple[Callable[[C], Iterable[Hit]], ...] = field(default=(), repr=False)
    # Per-certificate rules (``each=True``): the context holds one certificate at a time and
    # every check marked so runs once per certificate, as it is read; the others run once.
    # ``each_checks`` holds the positions (0 = ``check``, 1.. = ``more_checks``) run that way.
    each_checks: frozenset[int] = frozenset()

    @property
    def checks(self) -> tuple[Callable[[C], Iterable[Hit]], ...]:
        return (self.check, *self.more_checks)

    def run(self, context: C, *, keep_certificate: bool = True) -> list[Finding]:
        """Run every check that is not per-certificate; an exception inside one becomes an
        error finding (fail closed)."""
        findings: list[Finding] = []
        for position in range(len(self.checks)):
            if position not in self.each_checks:
                findings += self.run_check(position, context, keep_certificate=keep_certificate)
        return findings

    def run_check(
        self, position: int, context: C, *, keep_certificate: bool = True
    ) -> list[Finding]:
        """Run one check (``checks[position]``). With ``keep_certificate`` False the findings
        name their certificate by its summary only, so that it can be dropped."""
        try:
            hits = list(self.checks[position](context))
        except Exception as exc:
            return [self.failure(exc)]
        return [self.finding(hit, keep_certificate) for hit in hits]

    def failure(self, exc: Exception) -> Finding:
        """The finding for a check that raised: an error, result unknown (fail closed)."""
        return Finding(
            self.id,
            Severity.ERROR,
            self.title,
            f"internal error while checking, result unknown: {type(exc).__name__}: {exc}",
        )

    def finding(self, hit: Hit, keep_certificate: bool = True) -> Finding:
        fix = hit.fix if hit.fix is not None else self.fix
        summary = hit.summary
        if summary is None and hit.certificate is not None:
            summary = CertSummary.of(hit.certificate)
        thumbprint = summary.sha1 if summary is not None else None
        if hit.listed is not None:
            thumbprint = hit.listed.thumbprint or "<thumbprint>"
        if thumbprint is not None:
            fix = fix.replace("{sha1}", thumbprint).replace("{store}", hit.store or "")
        return Finding(
            rule=self.id,
            severity=hit.severity or self.severity,
            title=self.title,
            message=hit.message,
            certificate=hit.certificate if keep_certificate else None,
            store=hit.store,
            references=self.references,
            fix=fix,
            evidence=hit.evidence,
            listed=hit.listed,
            summary=summary,
        )


class Registry(Generic[C]):
    """Rules of one kind (audit, diagnosis), in registration order."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._rules: dict[str, Rule[C]] = {}

    def __iter__(self) -> Iterator[Rule[C]]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def __getitem__(self, rule_id: str) -> Rule[C]:
        return self._rules[rule_id]

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def rule(
        self,
        rule_id: str,
        *,
        severity: Severity,
        title: str,
        references: Iterable[str] = (),
        fix: str = "",
        each: bool = False,
    ) -> Callable[[Callable[[C], Iterable[Hit]]], Callable[[C], Iterable[Hit]]]:
        checked_id(rule_id)

        def register(check: Callable[[C], Iterable[Hit]]) -> Callable[[C], Iterable[Hit]]:
            unregistered(rule_id, self._rules)
            self._rules[rule_id] = Rule(
                rule_id,
                severity,
                title,
                explanation(rule_id, check),
                tuple(references),
                cleandoc(fix) if fix else "",
                check,
                each_checks=frozenset({0}) if each else frozenset(),
            )
            return check

        return register

    def also(self, rule_id: str, *, each: bool = False) -> Callable[[CheckFn[C]], CheckFn[C]]:
        """Add a check to an already registered rule: the same finding (id, severity, title,
        references, fix) decided on other evidence, such as a certificate known only from a
        listing. The check's docstring is appended to the rule's explanation. ``each``: the
        check runs once per certificate (see ``Rule.each_checks``).
        """
        if rule_id not in self._rules:
            raise ValueError(f"rule {rule_id} is not registered: nothing to extend")

        def register(check: CheckFn[C]) -> CheckFn[C]:
            if not check.__doc__:
                raise ValueError(f"a further check for {rule_id} needs a docstring")
            rule = self._rules[rule_id]
            self._rules[rule_id] = replace(
                rule,
                explanation=f"{rule.explanation}\n\n{cleandoc(check.__doc__)}",
                more_checks=(*rule.more_checks, check),
                each_checks=rule.each_checks
                | ({len(rule.more_checks) + 1} if each else frozenset()),
            )
            return check

        return register

    def run(self, context: C) -> list[Finding]:
        findings: list[Finding] = []
        for item in self:
            findings.extend(item.run(context))
        return findings


def sort_key(finding: Finding) -> tuple[Any, ...]:
    return (-finding.severity.rank, finding.store or "", finding.rule, finding.message)
