"""Audit rules over certificates known only from listings, and the registry's ``also``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from certgate.core.audit import audit
from certgate.core.listing import ListedCertificate
from certgate.core.model import Certificate
from certgate.core.rules import AUDIT_RULES, Hit, Registry, Severity
from certgate.core.stores import Machine
from certgate.testing import PKI


def _listed(cert: Certificate, store: str = "Root", **changes: object) -> ListedCertificate:
    base = ListedCertificate(
        store=store,
        thumbprint=cert.sha1,
        subject=str(cert.subject),
        issuer=str(cert.issuer),
        not_before=cert.not_before,
        not_after=cert.not_after,
        source=f"{store}.txt:2",
        listing="Format-List",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _rules(machine: Machine, at: datetime) -> list[tuple[str, str | None]]:
    return [
        (f.rule, f.listed.thumbprint if f.listed else None) for f in audit(machine, at).findings
    ]


def test_listed_intermediate_in_root_is_the_kb2802568_finding(pki: PKI, now: datetime) -> None:
    root = pki.root("Contoso Root CA")
    issuing = root.intermediate("Contoso Issuing CA").certificate
    machine = Machine().with_listed([_listed(root.certificate), _listed(issuing)])
    report = audit(machine, now)
    (finding,) = [f for f in report.findings if f.rule == "root::not-self-signed"]
    assert finding.severity is Severity.ERROR and finding.listed is not None
    assert finding.listed.thumbprint == issuing.sha1
    assert finding.evidence[0] == (
        "by names only (the certificate was not exported; signature not checked)"
    )
    assert f'Move-Item "$root\\{issuing.sha1}" $ca' in finding.fix
    assert "by names" in AUDIT_RULES["root::not-self-signed"].explanation


def test_negative_control_clean_listed_root(pki: PKI, now: datetime) -> None:
    root = pki.root("Contoso Root CA").certificate
    rules = _rules(Machine().with_listed([_listed(root)]), now)
    assert rules == [("listed::unverified", None)]


def test_truncated_names_decide_nothing(pki: PKI, now: datetime) -> None:
    issuing = pki.root("R").intermediate("I").certificate
    listed = _listed(issuing, truncated=("Subject",))
    assert ("root::not-self-signed", issuing.sha1) not in _rules(
        Machine().with_listed([listed]), now
    )


def test_exported_copy_is_judged_once_by_signature(pki: PKI, now: datetime) -> None:
    issuing = pki.root("R").intermediate("I").certificate
    machine = Machine().adding("Root", [issuing]).with_listed([_listed(issuing)])
    findings = [f for f in audit(machine, now).findings if f.rule == "root::not-self-signed"]
    assert len(findings) == 1 and findings[0].certificate == issuing and findings[0].listed is None


def test_expiry_only_when_true_in_every_time_zone(pki: PKI, now: datetime) -> None:
    root = pki.root("Old Root").certificate
    long_gone = _listed(root, not_after=now - timedelta(days=2))
    borderline = _listed(root, thumbprint="A" * 40, not_after=now - timedelta(hours=5))
    future = _listed(root, thumbprint="B" * 40, not_before=now + timedelta(days=3))
    rules = _rules(Machine().with_listed([long_gone, borderline, future]), now)
    assert ("root::expired", root.sha1) in rules
    assert ("root::expired", "A" * 40) not in rules
    assert ("root::not-yet-valid", "B" * 40) in rules


def test_duplicates_and_disallowed(pki: PKI, now: datetime) -> None:
    root = pki.root("Twice").certificate
    other = pki.root("Banned").certificate
    machine = (
        Machine()
        .with_listed([_listed(root), _listed(root), _listed(other, "CA")])
        .with_listed([_listed(other, "Disallowed")])
        .adding("Root", [pki.root("Exported").certificate])
    )
    exported = machine.store("Root").certificates[0]
    machine = machine.with_listed([_listed(exported, "Disallowed", thumbprint=exported.sha1)])
    report = audit(machine, now)
    rules = [(f.rule, f.store) for f in report.findings]
    assert ("store::duplicate", "Root") in rules
    assert ("store::also-disallowed", "CA") in rules
    assert ("store::also-disallowed", "Root") in rules  # the exported one, listed in Disallowed


def test_listing_that_disagrees_with_the_export(pki: PKI, now: datetime) -> None:
    exported = pki.root("Exported").certificate
    extra = pki.root("Only Listed").certificate
    machine = Machine().adding("Root", [exported]).with_listed([_listed(exported), _listed(extra)])
    report = audit(machine, now)
    (finding,) = [f for f in report.findings if f.rule == "listed::not-exported"]
    assert finding.listed is not None and finding.listed.thumbprint == extra.sha1
    clean = Machine().adding("Root", [exported]).with_listed([_listed(exported)])
    assert not [f for f in audit(clean, now).findings if f.rule.startswith("listed::")]


def test_also_extends_and_refuses_misuse() -> None:
    registry: Registry[int] = Registry("test")

    @registry.rule("x::base", severity=Severity.WARNING, title="Base")
    def base(ctx: int) -> Iterator[Hit]:
        """Base check."""
        yield Hit(f"base {ctx}")

    @registry.also("x::base")
    def more(ctx: int) -> Iterator[Hit]:
        """Another way to see it."""
        yield Hit(f"more {ctx}")
        raise RuntimeError("boom")

    findings = registry.run(1)
    assert findings[0].message == "base 1"
    # a check that fails part-way reports the failure, not a partial answer (fail closed)
    assert len(findings) == 2 and findings[1].severity is Severity.ERROR
    assert "boom" in findings[1].message
    assert {f.rule for f in findings} == {"x::base"}
    assert registry["x::base"].explanation == "Base check.\n\nAnother way to see it."
    with pytest.raises(ValueError, match="not registered"):
        registry.also("x::missing")
    with pytest.raises(ValueError, match="needs a docstring"):
        registry.also("x::base")(lambda ctx: iter(()))
