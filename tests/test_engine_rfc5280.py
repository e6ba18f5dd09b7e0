"""The rfc5280 engine: its own explanations, and agreement with cryptography's verifier."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    VerificationError,
)
from cryptography.x509.verification import Store as CryptoStore
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certgate.core import checks as checks_module
from certgate.core.engines import EMITTED_CODES, Verdict, VerifyRequest, verify, verify_fast
from certgate.core.stores import Machine, Store
from certgate.testing import ANY_EKU, CLIENT_AUTH, PKI, SERVER_AUTH, Issued, KeyType


def machine(roots: Sequence[Issued], cas: Sequence[Issued] = ()) -> Machine:
    return Machine(
        (
            Store("Root", tuple(r.certificate for r in roots)),
            Store("CA", tuple(c.certificate for c in cas)),
        )
    )


def rfc(leaf: Issued, chain: list[Issued], m: Machine, at: datetime, **options: Any) -> Verdict:
    request = VerifyRequest(
        leaf.certificate, tuple(c.certificate for c in chain), m, at=at, **options
    )
    verdict = verify(request, ["rfc5280"])["rfc5280"]
    assert verdict.code in EMITTED_CODES["rfc5280"]
    fast = verify_fast(leaf.certificate, request.chain, m, at=at, crls=request.crls)
    if not request.require_revocation:
        assert fast == verdict.accepted
    return verdict


def test_missing_intermediate_and_untrusted_root_are_told_apart(pki: PKI, now: datetime) -> None:
    """cryptography gives one message for both (python-deps §1); we give two codes."""
    root = pki.root("R")
    inter = root.intermediate("I")
    leaf = inter.client("a")
    other = pki.root("Other")
    assert rfc(leaf, [], machine([root]), now).code == "missing-issuer"
    assert rfc(leaf, [inter, root], machine([other]), now).code == "untrusted-root"
    assert rfc(leaf, [inter], machine([root]), now).code == "ok"


def test_every_root_store_certificate_is_an_anchor(pki: PKI, now: datetime) -> None:
    """python-deps §1 partial-chain semantics: an intermediate in Root is an anchor."""
    root = pki.root("R")
    inter = root.intermediate("I")
    verdict = rfc(inter.client("a"), [], machine([inter]), now)
    assert verdict.accepted and len(verdict.path) == 2


def test_sha1_is_refused_and_named(pki: PKI, now: datetime) -> None:
    root = pki.root("R")
    inter = root.intermediate("I")
    verdict = rfc(inter.client("a", hash="sha1"), [inter], machine([root]), now)
    assert verdict.code == "weak-signature"
    assert rfc(inter.client("b"), [inter], machine([root]), now).accepted


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"expired": True}, "expired"),
        ({"eku": (SERVER_AUTH,)}, "wrong-eku"),
        ({"eku": (ANY_EKU,)}, "wrong-eku"),
        ({"ca": True}, "leaf-is-ca"),
        ({}, "ok"),
    ],
)
def test_leaf_checks(pki: PKI, now: datetime, options: dict[str, object], code: str) -> None:
    root = pki.root("R")
    inter = root.intermediate("I")
    assert rfc(inter.client("a", **options), [inter], machine([root]), now).code == code


def test_ca_checks(pki: PKI, now: datetime) -> None:
    root = pki.root("R")
    not_ca = root.intermediate("NotCA", ca=False)
    assert rfc(not_ca.client("a"), [not_ca], machine([root]), now).code == "not-a-ca"
    no_sign = root.intermediate("NoSign", key_usage=("digital_signature",))
    assert rfc(no_sign.client("a"), [no_sign], machine([root]), now).code == "key-usage"
    short = root.intermediate("Short", path_length=0)
    deep = short.intermediate("Deep")
    assert rfc(deep.client("a"), [short, deep], machine([root]), now).code == "path-length-exceeded"


def test_revocation_from_crls(pki: PKI, now: datetime) -> None:
    root = pki.root("R")
    inter = root.intermediate("I")
    leaf = inter.client("a")
    m = machine([root])
    assert rfc(leaf, [inter], m, now, crls=(inter.crl([leaf]),)).code == "revoked"
    assert rfc(leaf, [inter], m, now, crls=(inter.crl(),)).accepted
    missing = rfc(leaf, [inter], m, now, require_revocation=True, crls=(inter.crl(),))
    assert missing.code == "revocation-unknown"  # no CRL from the root for the intermediate
    stale = inter.crl(next_update=now - timedelta(days=1), this_update=now - timedelta(days=8))
    assert (
        rfc(leaf, [inter], m, now, require_revocation=True, crls=(stale, root.crl())).code
        == "revocation-unknown"
    )


def test_internal_error_fails_closed(
    pki: PKI, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = pki.root("R")
    leaf = root.client("a")

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(checks_module, "_validity", broken)
    request = VerifyRequest(leaf.certificate, (), machine([root]), at=now)
    verdicts = verify(request)
    assert {name: v.accepted for name, v in verdicts.items()} == {
        "windows": False,
        "openssl": True,  # OpenSSL does not run our checks
        "rfc5280": False,
    }
    assert verdicts["rfc5280"].code == "internal-error"
    assert verdicts["windows"].code == "TRUST_E_FAIL"
    assert not verify_fast(leaf.certificate, (), machine([root]), at=now)


# -- differential: cryptography's verifier on generated PKIs ---------------------------------


def crypto_accepts(leaf: Issued, chain: list[Issued], store: list[Issued], at: datetime) -> bool:
    """cryptography's client verifier, SAN optional (enterprise client certs often lack it)."""
    ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    verifier = (
        PolicyBuilder()
        .store(CryptoStore([c.x509 for c in store]))
        .time(at)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee)
        .build_client_verifier()
    )
    try:
        verifier.verify(leaf.x509, [c.x509 for c in chain])
    except VerificationError:
        return False
    return True


_PURPOSES = st.sampled_from(
    [(CLIENT_AUTH,), (SERVER_AUTH,), (ANY_EKU,), (), (CLIENT_AUTH, SERVER_AUTH)]
)
_CA_KU = st.sampled_from([None, ("digital_signature",), ("key_cert_sign", "crl_sign")])
_LIFE = st.sampled_from(["ok", "expired", "future"])


@st.composite
def pkis(draw: st.DrawFn) -> tuple[Issued, list[Issued], list[Issued], datetime]:
    pki = PKI(now=datetime(2026, 6, 1, 12, 0).astimezone())
    at = pki.now
    key = draw(st.sampled_from([KeyType.RSA2048, KeyType.P256]))

    def life(kind: str) -> dict[str, object]:
        if kind == "expired":
            return {"expired": True}
        if kind == "future":
            return {"not_before": at + timedelta(days=2)}
        return {}

    root = pki.root(
        "Root", key=key, path_length=draw(st.sampled_from([None, 0, 1])), **life(draw(_LIFE))
    )
    issuers = [root]
    for depth in range(draw(st.integers(0, 2))):
        parent = issuers[-1]
        issuers.append(
            parent.intermediate(
                f"Inter {depth}",
                key=key,
                ca=draw(st.booleans()) or depth > 5,
                path_length=draw(st.sampled_from([None, 0, 1])),
                key_usage=draw(_CA_KU),
                eku=draw(st.sampled_from([None, (CLIENT_AUTH,), (SERVER_AUTH,)])),
                hash=draw(st.sampled_from(["sha256", "sha256", "sha1"]))
                if key is KeyType.RSA2048
                else "sha256",
                **life(draw(_LIFE)),
            )
        )
    eku = draw(_PURPOSES)
    leaf = issuers[-1].client(
        "leaf",
        key=key,
        eku=eku or None,
        ca=draw(st.booleans()) and draw(st.booleans()),
        hash=draw(st.sampled_from(["sha256", "sha256", "sha1"]))
        if key is KeyType.RSA2048
        else "sha256",
        **life(draw(_LIFE)),
    )
    intermediates = issuers[1:]
    sent = [c for c in intermediates if draw(st.booleans()) or draw(st.booleans())]
    store_choice = draw(st.sampled_from(["root", "other", "intermediate", "root+other"]))
    other = pki.root("Other Root", key=key)
    store = {
        "root": [root],
        "other": [other],
        "intermediate": [intermediates[-1]] if intermediates else [other],
        "root+other": [other, root],
    }[store_choice]
    return leaf, sent, store, at


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pkis())
def test_agrees_with_cryptography_verifier(
    case: tuple[Issued, list[Issued], list[Issued], datetime],
) -> None:
    leaf, chain, store, at = case
    expected = crypto_accepts(leaf, chain, store, at)
    verdict = rfc(leaf, chain, machine(store), at)
    assert verdict.accepted == expected, (verdict.code, verdict.message)
