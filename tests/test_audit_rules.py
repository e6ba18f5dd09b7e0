"""Audit rules: each finds what it should, and nothing on its negative control."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import certifi
import pytest

from certgate.core.audit import audit
from certgate.core.issuers import ISSUER_LIST_LIMIT, trusted_issuer_list
from certgate.core.model import Certificate
from certgate.core.rules import AUDIT_RULES, Severity
from certgate.core.rules._registry import Hit, Registry
from certgate.core.settings import Setting, SslBinding
from certgate.core.stores import CA, CLIENT_AUTH_ISSUER, DISALLOWED, ROOT, Machine, Store
from certgate.formats import load_file
from certgate.testing import PKI, KeyType, tampered


def machine(**stores: list[Certificate]) -> Machine:
    return Machine(tuple(Store(name, tuple(certs)) for name, certs in stores.items()))


def ids(report_findings: object) -> Counter[str]:
    return Counter(f.rule for f in report_findings)  # type: ignore[attr-defined]


def test_intermediate_in_root_is_found_and_only_it(pki: PKI, now: datetime) -> None:
    root = pki.root("Root")
    inter = root.intermediate("Issuing")
    report = audit(machine(Root=[root.certificate, inter.certificate]), now)
    found = [f for f in report.findings if f.rule == "root::not-self-signed"]
    assert [f.certificate for f in found] == [inter.certificate]
    assert found[0].severity is Severity.ERROR
    assert "KB 2802568" in found[0].references
    assert f'Move-Item "$root\\{inter.sha1}" $ca' in found[0].fix
    assert "ClientAuthTrustMode=2" in found[0].fix
    assert report.issuer_list.mixed_root
    clean = audit(machine(Root=[root.certificate], CA=[inter.certificate]), now)
    assert not clean.findings
    assert not clean.issuer_list.mixed_root


def test_names_only_self_signature(pki: PKI, now: datetime) -> None:
    impostor_signer = pki.root("Signer")
    fake = pki.issue(
        "CN=Looks Self Signed",
        issuer=impostor_signer,
        ca=True,
        issuer_name=pki.root("CN=Looks Self Signed").x509.subject,
    ).certificate
    assert fake.self_issued
    report = audit(machine(Root=[fake]), now)
    assert ids(report.findings)["root::self-signature-invalid"] == 1
    assert ids(report.findings)["root::not-self-signed"] == 0


def test_end_entity_and_ca_store_roots(pki: PKI, now: datetime) -> None:
    root = pki.root("Root")
    self_signed_leaf = pki.issue("Leaf", issuer=None).certificate
    other_root = pki.root("Other").certificate
    report = audit(
        machine(Root=[root.certificate, self_signed_leaf], CA=[other_root, root.certificate]),
        now,
    )
    counts = ids(report.findings)
    assert counts["root::end-entity"] == 1
    assert counts["ca::self-signed-root"] == 1  # root.certificate is also in Root: fine
    assert counts["root::not-self-signed"] == 0


def test_validity_window(pki: PKI, now: datetime) -> None:
    expired = pki.root("Old", expired=True).certificate
    future = pki.root("Future", not_before=now + timedelta(days=3)).certificate
    report = audit(machine(Root=[expired, future]), now)
    assert ids(report.findings)["root::expired"] == 1
    assert ids(report.findings)["root::not-yet-valid"] == 1
    later = audit(machine(Root=[future]), now + timedelta(days=10))
    assert not later.findings


def test_duplicates_keys_and_disallowed(pki: PKI, now: datetime) -> None:
    root = pki.root("CN=Shared Name")
    rekeyed = pki.root("CN=Shared Name")
    report = audit(
        machine(
            Root=[root.certificate, root.certificate, rekeyed.certificate],
            Disallowed=[rekeyed.certificate],
        ),
        now,
    )
    counts = ids(report.findings)
    assert counts["store::duplicate"] == 1
    assert counts["store::subject-several-keys"] == 1
    assert counts["store::also-disallowed"] == 1
    also = next(f for f in report.findings if f.rule == "store::also-disallowed")
    assert also.certificate == rekeyed.certificate and also.store == ROOT


def test_weak_keys_and_signatures(pki: PKI, now: datetime) -> None:
    sha1_root = pki.root("SHA1 Root", hash="sha1")
    sha1_inter = sha1_root.intermediate("SHA1 Issuing", hash="sha1").certificate
    from cryptography.hazmat.primitives.asymmetric import rsa

    weak = pki.root("Weak", key=rsa.generate_private_key(65537, 1024)).certificate
    report = audit(machine(Root=[sha1_root.certificate, weak], CA=[sha1_inter]), now)
    weak_sigs = {
        f.certificate: f.severity for f in report.findings if f.rule == "cert::weak-signature"
    }
    assert weak_sigs == {sha1_root.certificate: Severity.INFO, sha1_inter: Severity.WARNING}
    assert [f.certificate for f in report.findings if f.rule == "cert::weak-key"] == [weak]
    strong = audit(machine(Root=[pki.root("P256", key=KeyType.P256).certificate]), now)
    assert not strong.findings


def test_malformed_certificates_are_reported_not_fatal(pki: PKI, now: datetime) -> None:
    root = pki.root("Root")
    v4 = Certificate.from_der(tampered(root, version=4))
    negative = pki.root("Negative", serial=-1).certificate
    report = audit(machine(Root=[v4, negative]), now)
    issues = [f for f in report.findings if f.rule == "cert::parse-issue"]
    assert {f.certificate for f in issues} == {v4, negative}
    assert ids(report.findings)["root::not-self-signed"] == 0


def test_issuer_list_sources_and_size(pki: PKI, now: datetime) -> None:
    long = "x" * 60
    names = [f"CN=Root {i:02d},OU=A{long},OU=B{long},OU=C{long},O=O{long}" for i in range(56)]
    roots = [pki.root(name).certificate for name in names]
    listing = trusted_issuer_list(machine(Root=roots))
    assert listing.size > ISSUER_LIST_LIMIT
    assert listing.size == sum(2 + len(c.subject.der) for c in roots)
    quiet = audit(machine(Root=roots), now)
    big = [f for f in quiet.findings if f.rule == "issuer-list::too-large"]
    assert [f.severity for f in big] == [Severity.WARNING]
    loud = machine(Root=roots)
    loud = loud.with_schannel(loud.schannel.with_send_issuer_list(True, "test"))
    assert [f.severity for f in audit(loud, now).findings] == [Severity.ERROR]
    small = pki.root("Client CA").certificate
    with_cai = machine(Root=roots, ClientAuthIssuer=[small])
    assert trusted_issuer_list(with_cai).source == CLIENT_AUTH_ISSUER
    assert not audit(with_cai, now).findings
    ctl = with_cai.with_bindings((SslBinding(ctl_store_name=Setting("MyCTL", "netsh:3")),))
    ctl = ctl.adding("MyCTL", [roots[0]])
    listing = trusted_issuer_list(ctl)
    assert (listing.source, listing.certificates) == ("MyCTL", (roots[0],))
    assert "netsh:3" in listing.reason


def test_certifi_roots_are_all_self_signed(now: datetime) -> None:
    """Negative control on real data: Mozilla's roots via certifi."""
    loaded = load_file(certifi.where())
    assert len(loaded.certificates) > 100
    report = audit(machine(Root=list(loaded.certificates)), now)
    bad = {"root::not-self-signed", "root::self-signature-invalid", "root::end-entity"}
    assert not [f for f in report.findings if f.rule in bad]
    assert not report.issuer_list.mixed_root


def test_rule_failure_fails_closed(pki: PKI, now: datetime) -> None:
    registry: Registry[object] = Registry("test")

    @registry.rule("test::boom", severity=Severity.INFO, title="Boom")
    def boom(ctx: object) -> list[Hit]:
        """Always crashes."""
        raise RuntimeError("kaput")

    findings = registry.run(object())
    assert [(f.rule, f.severity) for f in findings] == [("test::boom", Severity.ERROR)]
    assert "kaput" in findings[0].message


def test_registry_refuses_bad_ids_duplicates_and_missing_docs() -> None:
    registry: Registry[object] = Registry("test")
    with pytest.raises(ValueError, match="family::name"):
        registry.rule("nocolons", severity=Severity.INFO, title="x")

    def undocumented(ctx: object) -> list[Hit]:
        return []

    def documented(ctx: object) -> list[Hit]:
        """Doc."""
        return []

    with pytest.raises(ValueError, match="needs a docstring"):
        registry.rule("a::b", severity=Severity.INFO, title="x")(undocumented)
    registry.rule("a::b", severity=Severity.INFO, title="x")(documented)
    with pytest.raises(ValueError, match="registered twice"):
        registry.rule("a::b", severity=Severity.INFO, title="x")(documented)


def test_every_audit_rule_is_documented() -> None:
    assert len(AUDIT_RULES) >= 13
    for rule in AUDIT_RULES:
        assert rule.explanation and rule.title and rule.fix, rule.id


def test_planted_certificate_found_in_every_store_format(
    pki: PKI, now: datetime, tmp_path: object
) -> None:
    from pathlib import Path

    from certgate.testing import pem_bundle, pkcs7_bundle, sst_bundle

    folder = Path(str(tmp_path))
    root = pki.root("Root")
    planted = root.intermediate("Planted")
    items = [root, pki.root("Other", key=KeyType.P256), planted]
    files = {
        "root.pem": pem_bundle(items),
        "root.p7b": pkcs7_bundle(items),
        "root.p7c": pkcs7_bundle(items, pem=True),
        "root.sst": sst_bundle(items),
        # A PFX of the planted CA's chain: the planted certificate, its root (no password).
        "root.pfx": planted.pfx(None),
        "root.der": planted.der,
    }
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    (folder / "dir").mkdir()
    for i, item in enumerate(items):
        (folder / "dir" / f"{i}.cer").write_bytes(item.der)
    for target in [*files, "dir"]:
        loaded = load_file(folder / target)
        report = audit(machine(Root=list(loaded.certificates)), now)
        found = [f.certificate for f in report.findings if f.rule == "root::not-self-signed"]
        assert found == [planted.certificate], target


def test_unused_stores_are_unknown(pki: PKI) -> None:
    m = machine(Root=[pki.root("R").certificate])
    assert m.knows("root") and not m.knows(CA) and not m.knows(DISALLOWED)
    assert len(m.store(CA)) == 0
