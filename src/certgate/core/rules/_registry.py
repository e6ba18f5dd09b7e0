"""A decorator registry for rules: id from the decorator, explanation from the docstring.

Modelled on x509-limbo's registry: an id is ``family::name``, registering one twice is an
error, and every rule carries its severity, references and fix with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from inspect import cleandoc
from typing import Any, Generic, TypeVar

from certgate.core.listing import ListedCertificate
from certgate.core.model import Certificate

__all__ = ["Finding", "Hit", "Registry", "Rule", "Severity"]

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*::[a-z0-9][a-z0-9-]*$")

C = TypeVar("C")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


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
    # A registry-specific payload carried to the finding untouched (the doctor's structured
    # claim: evidence, explained symptoms, fixes); audit rules leave it None.
    detail: object | None = None


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
    detail: object | None = None


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

    def run(self, context: C) -> list[Finding]:
        """Run every check; an exception inside one becomes an error finding (fail closed)."""
        findings: list[Finding] = []
        for check in (self.check, *self.more_checks):
            try:
                hits = list(check(context))
            except Exception as exc:
                findings.append(
                    Finding(
                        self.id,
                        Severity.ERROR,
                        self.title,
                        "internal error while checking, result unknown: "
                        f"{type(exc).__name__}: {exc}",
                    )
                )
                continue
            findings.extend(self._finding(hit) for hit in hits)
        return findings

    def _finding(self, hit: Hit) -> Finding:
        fix = hit.fix if hit.fix is not None else self.fix
        thumbprint = hit.certificate.sha1 if hit.certificate is not None else None
        if hit.listed is not None:
            thumbprint = hit.listed.thumbprint or "<thumbprint>"
        if thumbprint is not None:
            fix = fix.replace("{sha1}", thumbprint).replace("{store}", hit.store or "")
        return Finding(
            rule=self.id,
            severity=hit.severity or self.severity,
            title=self.title,
            message=hit.message,
            certificate=hit.certificate,
            store=hit.store,
            references=self.references,
            fix=fix,
            evidence=hit.evidence,
            listed=hit.listed,
            detail=hit.detail,
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
    ) -> Callable[[Callable[[C], Iterable[Hit]]], Callable[[C], Iterable[Hit]]]:
        if not _ID.match(rule_id):
            raise ValueError(f"rule id {rule_id!r} is not of the form family::name")

        def register(check: Callable[[C], Iterable[Hit]]) -> Callable[[C], Iterable[Hit]]:
            if rule_id in self._rules:
                raise ValueError(f"rule {rule_id} is registered twice")
            if not check.__doc__:
                raise ValueError(f"rule {rule_id} needs a docstring: it is the explanation")
            self._rules[rule_id] = Rule(
                rule_id,
                severity,
                title,
                cleandoc(check.__doc__),
                tuple(references),
                cleandoc(fix) if fix else "",
                check,
            )
            return check

        return register

    def also(self, rule_id: str) -> Callable[[CheckFn[C]], CheckFn[C]]:
        """Add a check to an already registered rule: the same finding (id, severity, title,
        references, fix) decided on other evidence, such as a certificate known only from a
        listing. The check's docstring is appended to the rule's explanation.
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
