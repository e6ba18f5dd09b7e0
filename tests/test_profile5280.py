"""RFC 5280's certificate profile in the rfc5280 engine, and fail-closed name constraints.

Each rule has its x509-limbo case too (tests/test_limbo.py); these tests pin the codes and
messages, and show the windows engine's leniency beside it (negative controls included).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from certgate.core.engines import Verdict, VerifyRequest, verify
from certgate.core.stores import Machine, Store
from certgate.testing import PKI, Issued, NameConstraints

AT = datetime(2026, 6, 1, tzinfo=UTC)
ENGINES = ("rfc5280", "windows")


def judge(leaf: Issued, root: Issued, *chain: Issued, at: datetime = AT) -> dict[str, Verdict]:
    machine = Machine((Store("Root", (root.certificate,)),))
    request = VerifyRequest(leaf.certificate, tuple(c.certificate for c in chain), machine, at=at)
    return verify(request, ENGINES)


def outcomes(verdicts: dict[str, Verdict]) -> dict[str, str]:
    return {name: v.code for name, v in verdicts.items()}


def pki_root(**options: Any) -> tuple[PKI, Issued]:
    pki = PKI(now=AT)
    return pki, pki.root(**options)


def aia(critical: bool) -> tuple[x509.ExtensionType, bool]:
    where = x509.UniformResourceIdentifier("http://ca.example/ca.crt")
    access = x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, where)
    return x509.AuthorityInformationAccess([access]), critical


def test_a_critical_aia_is_refused_by_rfc5280_not_by_windows() -> None:
    pki, root = pki_root()
    leaf = pki.issue("client", issuer=root, extra_extensions=[aia(critical=True)])
    verdicts = judge(leaf, root)
    assert outcomes(verdicts) == {"rfc5280": "malformed", "windows": "S_OK"}
    assert verdicts["rfc5280"].message == (
        "not a conforming RFC 5280 certificate: authorityInfoAccess is marked critical "
        "(§4.2.2.1: MUST NOT)"
    )
    fine = pki.issue("client2", issuer=root, extra_extensions=[aia(critical=False)])
    assert outcomes(judge(fine, root)) == {"rfc5280": "ok", "windows": "S_OK"}


def test_a_ca_without_subject_key_identifier_is_refused_by_rfc5280() -> None:
    pki, root = pki_root(subject_key_id=False)
    verdicts = judge(pki.issue("client", issuer=root), root)
    assert outcomes(verdicts) == {"rfc5280": "malformed", "windows": "S_OK"}
    assert "no subjectKeyIdentifier in a CA certificate (§4.2.1.2)" in verdicts["rfc5280"].message


def test_a_wildcard_that_could_name_an_excluded_host_is_excluded() -> None:
    pki, root = pki_root()
    ica = pki.issue(
        "ICA",
        issuer=root,
        ca=True,
        name_constraints=NameConstraints(excluded_dns=["bar.example.com"]),
    )
    wildcard = pki.issue("client", issuer=ica, san=["*.example.com"])
    verdicts = judge(wildcard, root, ica)
    assert outcomes(verdicts) == {"rfc5280": "name-constraints", "windows": "CERT_E_INVALID_NAME"}
    assert "DNS *.example.com is in an excluded subtree" in verdicts["rfc5280"].message
    other = pki.issue("client2", issuer=ica, san=["*.example.org", "foo.example.com"])
    assert outcomes(judge(other, root, ica)) == {"rfc5280": "ok", "windows": "S_OK"}


def test_a_malformed_dns_constraint_fails_closed() -> None:
    pki, root = pki_root()
    bad = pki.issue(
        "ICA",
        issuer=root,
        ca=True,
        name_constraints=NameConstraints(permitted_dns=[".example.com"]),
    )
    leaf = pki.issue("client", issuer=bad, san=["foo.example.com"])
    verdicts = judge(leaf, root, bad)
    assert verdicts["rfc5280"].code == "name-constraints"
    assert "DNS .example.com is malformed" in verdicts["rfc5280"].message
    good = pki.issue(
        "ICA2",
        issuer=root,
        ca=True,
        name_constraints=NameConstraints(permitted_dns=["example.com"]),
    )
    leaf2 = pki.issue("client2", issuer=good, san=["foo.example.com"])
    assert outcomes(judge(leaf2, root, good)) == {"rfc5280": "ok", "windows": "S_OK"}


def test_an_unprocessable_other_name_constraint_rejects_only_names_of_its_type() -> None:
    pki, root = pki_root()
    private = x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.55738.666.3"), b"\x05\x00")
    constraint = x509.NameConstraints(permitted_subtrees=None, excluded_subtrees=[private])
    ica = pki.issue("ICA", issuer=root, ca=True, extra_extensions=[(constraint, True)])
    upn = pki.issue("client", issuer=ica, san=["upn:alice@example.com"])
    assert outcomes(judge(upn, root, ica)) == {"rfc5280": "ok", "windows": "S_OK"}
    own = pki.issue(
        "client2", issuer=ica, extra_extensions=[(x509.SubjectAlternativeName([private]), False)]
    )
    verdicts = judge(own, root, ica)
    assert outcomes(verdicts) == {"rfc5280": "name-constraints", "windows": "CERT_E_INVALID_NAME"}
    assert "otherName 1.3.6.1.4.1.55738.666.3: OtherName constraints are not processed" in (
        verdicts["rfc5280"].message
    )


def test_validity_is_judged_at_whole_seconds() -> None:
    pki, root = pki_root()
    leaf = pki.issue("client", issuer=root)
    end = leaf.certificate.not_after
    assert judge(leaf, root, at=end + timedelta(milliseconds=500))["rfc5280"].code == "ok"
    assert judge(leaf, root, at=end + timedelta(seconds=1))["rfc5280"].code == "expired"
