"""Every engine x every revocation option x every state of the CRL x listed or not.

Revocation data is judged as a whole: a stale CRL proves revocation (rfc5280, openssl) or
makes revocation "offline" (windows), never lets a listed client in; a CRL failing its
signature is unusable; a refresh that brings a worse CRL keeps the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certgate.core.engines import Verdict, VerifyRequest, accepts, verify
from certgate.core.gate.judge import judge_once
from certgate.core.gate.policy import Policy
from certgate.core.revocation import refreshed
from certgate.core.settings import Setting
from certgate.core.stores import ROOT, Machine
from certgate.errors import CertgateError
from certgate.gate.client import fetch
from certgate.gate.config import parse_policy
from certgate.testing import PKI, Issued
from gate_support import config, gate, identity, machine

STATES = ("present", "absent", "stale", "bad-signature", "replaced-on-refresh")
ENGINES = ("windows", "openssl", "rfc5280")

# (engine, required, state, listed) -> expected code; "ok" = accepted.
REVOKED = {"windows": "CRYPT_E_REVOKED", "openssl": "X509_V_ERR_CERT_REVOKED", "rfc5280": "revoked"}
UNKNOWN = {
    "windows": "CRYPT_E_REVOCATION_OFFLINE",
    "openssl": "X509_V_ERR_UNABLE_TO_GET_CRL",
    "rfc5280": "revocation-unknown",
}
OK = {"windows": "S_OK", "openssl": "X509_V_OK", "rfc5280": "ok"}


def expected(engine: str, required: bool, state: str, listed: bool) -> str:
    if state in ("present", "replaced-on-refresh"):
        return REVOKED[engine] if listed else OK[engine]
    if state == "absent":
        return UNKNOWN[engine] if required else OK[engine]
    if state == "stale":
        if engine == "windows":
            return "CRYPT_E_REVOCATION_OFFLINE"  # Windows does not use it: offline or stale
        if listed:
            return REVOKED[engine]  # a stale CRL still proves revocation
        if engine == "openssl":
            return "X509_V_ERR_CRL_HAS_EXPIRED"
        return UNKNOWN[engine] if required else OK[engine]
    # bad signature: unusable, never proof of anything
    if engine == "windows":
        return "CRYPT_E_REVOCATION_OFFLINE"
    if engine == "openssl":
        return "X509_V_ERR_CRL_SIGNATURE_FAILURE"
    return UNKNOWN[engine] if required else OK[engine]


@dataclass(frozen=True)
class World:
    now: datetime
    root: Issued
    forger: Issued  # same name as root, another key


@pytest.fixture(scope="module")
def world() -> World:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    root = PKI(now=now).root("Matrix Root")
    other = PKI(now=now)
    other.key()  # PKIs share a key pool: skip the key the real root got
    return World(now, root, other.root("Matrix Root"))


def _crls(
    world: World, state: str, leaf: Issued, listed: bool
) -> list[x509.CertificateRevocationList]:
    root, forger, now = world.root, world.forger, world.now
    revoked = [leaf] if listed else []
    if state == "absent":
        return []
    if state == "present":
        return [root.crl(revoked)]
    if state == "stale":
        start = now - timedelta(days=20)
        return [root.crl(revoked, this_update=start, next_update=now - timedelta(days=3))]
    if state == "bad-signature":
        return [forger.crl(revoked)]
    # replaced on refresh: the good CRL, then a refresh bringing a forged one
    good = root.crl(revoked, number=5)
    kept, warnings = refreshed([good], [forger.crl([], number=6)], [root.certificate])
    assert kept == (good,) and warnings and "signature" in warnings[0]
    return list(kept)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("required", [False, True])
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("listed", [False, True])
def test_matrix(world: World, engine: str, required: bool, state: str, listed: bool) -> None:
    root, now = world.root, world.now
    leaf = root.client(f"client-{state}-{listed}")
    crls = tuple(_crls(world, state, leaf, listed))
    machine = Machine().adding(ROOT, [root.certificate])
    request = VerifyRequest(
        leaf.certificate,
        (),
        machine,
        at=now,
        crls=crls,
        require_revocation=required,
    )
    verdict: Verdict = verify(request, [engine])[engine]
    want = expected(engine, required, state, listed)
    assert verdict.code == want, verdict.message
    assert verdict.accepted is (want in OK.values())
    assert accepts(request, engine) is verdict.accepted
    if not verdict.accepted:
        assert verdict.message


def test_windows_binding_without_revocation_checks_nothing(world: World) -> None:
    root, now = world.root, world.now
    leaf = root.client("unchecked")
    machine = Machine().adding(ROOT, [root.certificate])
    binding = replace(machine.binding, cert_check_mode=Setting(1, "test"))
    machine = machine.with_bindings((binding,))
    stale = root.crl(
        [leaf], this_update=now - timedelta(days=20), next_update=now - timedelta(days=3)
    )
    request = VerifyRequest(leaf.certificate, (), machine, at=now, crls=(stale,))
    assert verify(request, ["windows"])["windows"].accepted
    with pytest.raises(ValueError, match="DefaultCertCheckMode"):
        Policy(engine="windows", machine=machine, require_revocation=True)


def test_windows_stale_crl_says_what_windows_does(world: World) -> None:
    root, now = world.root, world.now
    leaf = root.client("stale-listed")
    stale = root.crl(
        [leaf], this_update=now - timedelta(days=20), next_update=now - timedelta(days=3)
    )
    machine = Machine().adding(ROOT, [root.certificate])
    request = VerifyRequest(leaf.certificate, (), machine, at=now, crls=(stale,))
    verdict = verify(request, ["windows"])["windows"]
    assert verdict.windows is not None and verdict.windows.iis_status == "403.16"
    assert verdict.windows.hresult_hex == "0x80092013"
    assert any("offline or stale" in str(c) for c in verdict.caveats)


def test_refresh_keeps_the_previous_crl_when_the_new_one_is_worse(
    world: World,
) -> None:
    root, forger, now = world.root, world.forger, world.now
    signers = [root.certificate]
    current = root.crl([], number=7, this_update=now - timedelta(hours=1))
    older = root.crl([], number=8, this_update=now - timedelta(days=2))
    lower = root.crl([], number=6, this_update=now)
    better = root.crl([], number=8, this_update=now)
    for worse, word in ((forger.crl([], number=9), "signature"), (older, "older")):
        kept, warnings = refreshed([current], [worse], signers)
        assert kept == (current,) and word in warnings[0]
    kept, warnings = refreshed([current], [lower], signers)
    assert kept == (current,) and "lower CRL number" in warnings[0]
    assert refreshed([current], [better], signers) == ((better,), [])


def test_unreadable_crl_refuses_the_policy(tmp_path: Path) -> None:
    broken = tmp_path / "broken.crl"
    broken.write_bytes(b"-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n")
    for engine in ENGINES:
        with pytest.raises(CertgateError):
            parse_policy({"trust": {"engine": engine, "crls": [str(broken)]}}, base=tmp_path)


def test_gate_openssl_requires_revocation_without_crl(world: World) -> None:
    """The fail-open of issue 13: openssl + require_revocation + no CRL was a 200."""
    root, now = world.root, world.now
    leaf = root.client("gate-no-crl")
    machine = Machine().adding(ROOT, [root.certificate])
    for engine in ENGINES:
        policy = Policy(engine=engine, machine=machine, require_revocation=True)
        decision = judge_once(policy, "/", [leaf.der], now)
        assert decision.status == 403 and decision.substatus == 16, (engine, decision)


def test_gate_stale_crl_listing_the_client_denies(world: World) -> None:
    root, now = world.root, world.now
    leaf = root.client("gate-stale")
    stale = root.crl(
        [leaf], this_update=now - timedelta(days=20), next_update=now - timedelta(days=3)
    )
    machine = Machine().adding(ROOT, [root.certificate])
    want = {"rfc5280": "403.13", "openssl": "403.13", "windows": "403.16"}
    for engine, status in want.items():
        policy = Policy(engine=engine, machine=machine, crls=(stale,))
        decision = judge_once(policy, "/", [leaf.der], now)
        assert decision.iis_status == status, (engine, decision)
    pem = stale.public_bytes(Encoding.PEM)
    assert pem.startswith(b"-----BEGIN X509 CRL")


def test_live_gate_denies_without_crl_and_with_a_stale_one(world: World, tmp_path: Path) -> None:
    """Real TLS: openssl + require_revocation + no CRL, and a stale CRL listing the client."""
    root, now = world.root, world.now
    leaf = root.client("live-client")
    stale = tmp_path / "stale.crl"
    crl = root.crl(
        [leaf], this_update=now - timedelta(days=20), next_update=now - timedelta(days=3)
    )
    stale.write_bytes(crl.public_bytes(Encoding.PEM))
    stores = machine([root])
    required = config(
        {"trust": {"engine": "openssl", "require_revocation": True}}, tmp_path, stores
    )
    listed = config({"trust": {"engine": "rfc5280", "crls": [str(stale)]}}, tmp_path, stores)
    with gate(required, now) as first, gate(listed, now) as second:
        no_crl = fetch(first.url + "/", identity(leaf))
        revoked = fetch(second.url + "/", identity(leaf))
    assert (no_crl.status, no_crl.header("certgate-status")) == (403, "403.16")
    assert "CRL" in str(no_crl.header("certgate-reason"))
    assert (revoked.status, revoked.header("certgate-status")) == (403, "403.13")


def test_policy_an_engine_cannot_honour_is_refused(tmp_path: Path) -> None:
    for engine in ("windows", "rfc5280"):
        with pytest.raises(CertgateError, match="partial_chain"):
            parse_policy({"trust": {"engine": engine, "partial_chain": True}}, base=tmp_path)
    parse_policy({"trust": {"engine": "openssl", "partial_chain": True}}, base=tmp_path)
