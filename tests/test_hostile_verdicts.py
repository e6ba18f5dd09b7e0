"""Malformed and expensive certificates are verdicts in every engine, `verify` and the gate.

Shapes of x509-limbo's rfc5280::duplicate-extensions, rfc5280::nc::invalid-ipv4-address and
pathological::nc-dos-* (rebuilt with ``certgate.testing.hostile``), plus bad serials and
oversize fields. Work bounds are asserted by counting work, never by timing it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certgate.cli import main
from certgate.core.checks import NAME_CHECK_BUDGET, Work, path_checks
from certgate.core.checks import Profile as CheckProfile
from certgate.core.engines import ENGINES, VerifyRequest, accepts, verify
from certgate.core.gate.judge import judge_once
from certgate.core.gate.policy import Policy
from certgate.core.model import Certificate
from certgate.core.stores import ROOT, Machine
from certgate.testing import PKI, Issued, tampered
from certgate.testing.hostile import (
    bad_ip_name_constraint_ca,
    duplicated_extension,
    name_constraint_attack,
)

# case -> (leaf DER, chain DER, certgate check code, openssl code)
Case = tuple[bytes, list[bytes], str, str]


def _cases(pki: PKI) -> dict[str, Callable[[Issued], Case]]:
    def duplicate_leaf(root: Issued) -> Case:
        leaf = root.client("dup")
        return duplicated_extension(leaf), [], "duplicate-extension", "INVALID_EXTENSION"

    def duplicate_intermediate(root: Issued) -> Case:
        inter = root.intermediate("Dup CA")
        leaf = inter.client("below-dup")
        return leaf.der, [duplicated_extension(inter)], "duplicate-extension", "INVALID_EXTENSION"

    def bad_ip_constraint(root: Issued) -> Case:
        inter = bad_ip_name_constraint_ca(root)
        leaf = inter.client("below-bad-nc", san=("dns:a.example",))
        return leaf.der, [inter.der], "malformed-extension", "INVALID_EXTENSION"

    def maskless_ip_constraint(root: Issued) -> Case:
        inter = bad_ip_name_constraint_ca(root, "Maskless NC CA", octets=4)
        leaf = inter.client("below-maskless-nc", san=("dns:a.example",))
        return leaf.der, [inter.der], "malformed-extension", "INVALID_EXTENSION"

    def unparseable_extension(root: Issued) -> Case:
        broken = x509.UnrecognizedExtension(x509.ObjectIdentifier("2.5.29.17"), b"\x05\x00")
        leaf = root.client("bad-san", extra_extensions=[(broken, False)])
        return leaf.der, [], "malformed-extension", "INVALID_EXTENSION"

    def negative_serial(root: Issued) -> Case:
        return root.client("neg", serial=-5).der, [], "bad-serial", "UNSPECIFIED"

    def zero_serial(root: Issued) -> Case:
        return root.client("zero", serial=0).der, [], "bad-serial", "UNSPECIFIED"

    def long_serial(root: Issued) -> Case:
        return tampered(root.client("long"), serial=1 << 200), [], "bad-serial", "UNSPECIFIED"

    def oversize_certificate(root: Issued) -> Case:
        names = tuple(f"dns:{'a' * 60}{i}.example" for i in range(1100))
        return root.client("big", san=names).der, [], "oversize", "UNSPECIFIED"

    return {
        "duplicate-extension-leaf": duplicate_leaf,
        "duplicate-extension-intermediate": duplicate_intermediate,
        "nc-invalid-ipv4-address": bad_ip_constraint,
        "nc-ipv4-address-without-mask": maskless_ip_constraint,
        "unparseable-extension": unparseable_extension,
        "negative-serial": negative_serial,
        "zero-serial": zero_serial,
        "serial-over-20-octets": long_serial,
        "oversize-certificate": oversize_certificate,
    }


CASE_NAMES = list(_cases(PKI()))


@pytest.mark.parametrize("name", CASE_NAMES)
def test_malformed_is_a_reject_in_every_engine(pki: PKI, now: datetime, name: str) -> None:
    root = pki.root("Hostile Root")
    leaf_der, chain_der, code, openssl_code = _cases(pki)[name](root)
    machine = Machine().adding(ROOT, [root.certificate])
    leaf = Certificate.from_der(leaf_der)
    chain = tuple(Certificate.from_der(d) for d in chain_der)
    request = VerifyRequest(leaf, chain, machine, at=now)
    verdicts = verify(request)
    assert verdicts["rfc5280"].code == code, verdicts["rfc5280"].message
    assert verdicts["windows"].code == "CERT_E_MALFORMED", verdicts["windows"].message
    assert verdicts["openssl"].code == f"X509_V_ERR_{openssl_code}"
    for engine, verdict in verdicts.items():
        assert not verdict.accepted and not accepts(request, engine)
        assert any(c.code.value == code for c in verdict.reasons), engine
    decision = judge_once(
        Policy(engine="rfc5280", machine=machine), "/", [leaf_der, *chain_der], now
    )
    assert decision.iis_status == "403.16" and decision.reason
    # the gate's own size cap may refuse the oversize chain before any engine sees it
    assert decision.code == code or (code == "oversize" and decision.code == "chain-too-long")


def test_anchor_with_negative_serial_still_anchors(pki: PKI, now: datetime) -> None:
    """Real Root stores hold such roots; RFC 5280 §6.1.1 judges an anchor by name and key."""
    root = pki.root("Negative Root", serial=-77)
    leaf = root.client("fine")
    machine = Machine().adding(ROOT, [root.certificate])
    request = VerifyRequest(leaf.certificate, (), machine, at=now)
    assert {name: v.accepted for name, v in verify(request).items()} == dict.fromkeys(ENGINES, True)


@pytest.mark.parametrize(
    "name", ["duplicate-extension-leaf", "nc-invalid-ipv4-address", "nc-ipv4-address-without-mask"]
)
def test_verify_cli_rejects_with_a_reason(
    pki: PKI, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    root = pki.root("CLI Root")
    leaf_der, chain_der, code, _ = _cases(pki)[name](root)
    (tmp_path / "leaf.der").write_bytes(leaf_der)
    (tmp_path / "chain.pem").write_bytes(b"".join(_pem(d) for d in chain_der) or root.pem)
    (tmp_path / "root.pem").write_bytes(root.pem)
    args = ["verify", str(tmp_path / "leaf.der"), "--root", str(tmp_path / "root.pem")]
    args += ["--chain", str(tmp_path / "chain.pem"), "--at", "2026-06-01T12:00Z", "--json"]
    exit_code = main(args)
    document = json.loads(capsys.readouterr().out)
    assert exit_code == 1
    for engine in ENGINES:
        verdict = document["engines"][engine]
        assert verdict["verdict"] == "reject" and verdict["message"], engine
    assert document["engines"]["rfc5280"]["code"] == code


def _pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM)


def test_forged_name_constraint_chain_costs_no_name_work(pki: PKI, now: datetime) -> None:
    """Issue 13's stall: the signature fails, so not one name comparison is made."""
    root = pki.root("NC Root")
    attack = name_constraint_attack(pki, root, forged=True)
    leaf, inter = attack.leaf.certificate, attack.intermediate.certificate
    work = Work()
    checks = list(
        path_checks((leaf, inter, root.certificate), True, CheckProfile(), now, work=work)
    )
    assert work.name_checks == 0
    assert any(c.code.value == "signature-invalid" for c in checks)
    machine = Machine().adding(ROOT, [root.certificate])
    verdicts = verify(VerifyRequest(leaf, (inter,), machine, at=now))
    assert verdicts["rfc5280"].code == "signature-invalid"
    assert verdicts["windows"].code == "TRUST_E_CERT_SIGNATURE"
    assert not verdicts["openssl"].accepted
    decision = judge_once(Policy(engine="windows", machine=machine), "/", attack.chain_der, now)
    assert decision.iis_status == "403.16" and decision.code == "TRUST_E_CERT_SIGNATURE"


def test_name_constraint_budget_is_a_reject_before_the_work(pki: PKI, now: datetime) -> None:
    """limbo's pathological::nc-dos shape: valid signatures, hostile amounts of names."""
    root = pki.root("NC Root")
    attack = name_constraint_attack(pki, root, forged=False)
    leaf, inter = attack.leaf.certificate, attack.intermediate.certificate
    work = Work()
    checks = list(
        path_checks((leaf, inter, root.certificate), True, CheckProfile(), now, work=work)
    )
    assert [c.code.value for c in checks if c.failed] == ["name-constraint-budget-exceeded"]
    assert work.name_checks == NAME_CHECK_BUDGET  # charged, not spent
    machine = Machine().adding(ROOT, [root.certificate])
    verdicts = verify(VerifyRequest(leaf, (inter,), machine, at=now))
    assert verdicts["rfc5280"].code == "name-constraint-budget-exceeded"
    assert verdicts["windows"].code == "CERT_E_INVALID_NAME"
    assert verdicts["openssl"].code == "X509_V_ERR_UNSPECIFIED"  # OpenSSL's own 2**20 cap


def test_name_constraints_under_budget_are_still_checked(pki: PKI, now: datetime) -> None:
    root = pki.root("NC Root")
    attack = name_constraint_attack(pki, root, forged=False, permitted=20, excluded=20, sans=30)
    leaf, inter = attack.leaf.certificate, attack.intermediate.certificate
    machine = Machine().adding(ROOT, [root.certificate])
    verdicts = verify(VerifyRequest(leaf, (inter,), machine, at=now))
    # n{i}.p{i % 20}.example: every name sits in a permitted subtree, none excluded
    assert {v.code for v in verdicts.values()} == {"ok", "S_OK", "X509_V_OK"}
    outside = inter_leaf = attack.intermediate.client("outside", san=("dns:evil.test",))
    verdicts = verify(VerifyRequest(inter_leaf.certificate, (inter,), machine, at=now))
    assert verdicts["rfc5280"].code == "name-constraints", outside
    assert verdicts["openssl"].code == "X509_V_ERR_PERMITTED_VIOLATION"


def test_signature_budget_is_a_reject(pki: PKI, now: datetime) -> None:
    root = pki.root("Budget Root")
    leaf = root.client("one")
    work = Work(max_signatures=0)
    checks = list(
        path_checks((leaf.certificate, root.certificate), True, CheckProfile(), now, work=work)
    )
    assert [c.code.value for c in checks if c.failed] == ["path-budget-exceeded"]


LIMBO = Path(__file__).parent / "data" / "limbo" / "cases.json.gz"
LIMBO_HOSTILE = (
    "pathological::nc-dos-1",
    "pathological::nc-dos-2",
    "pathological::nc-dos-3",
    "rfc5280::duplicate-extensions",
    "rfc5280::nc::invalid-ipv4-address",
)


@pytest.mark.parametrize("case_id", LIMBO_HOSTILE)
def test_limbo_hostile_cases_are_rejects_with_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case_id: str
) -> None:
    """Issue 13's "done when": `certgate verify` on these x509-limbo cases exits 1, every
    engine rejecting with a reason (no internal error, no time-out)."""
    import gzip

    cases = json.loads(gzip.decompress(LIMBO.read_bytes()))["testcases"]
    case = next(c for c in cases if c["id"] == case_id)
    assert case["expected_result"] == "FAILURE"
    (tmp_path / "leaf.pem").write_text(case["peer_certificate"])
    (tmp_path / "root.pem").write_text("".join(case["trusted_certs"]))
    args = ["verify", str(tmp_path / "leaf.pem"), "--root", str(tmp_path / "root.pem")]
    if case["untrusted_intermediates"]:
        (tmp_path / "chain.pem").write_text("".join(case["untrusted_intermediates"]))
        args += ["--chain", str(tmp_path / "chain.pem")]
    verdicts = {}
    # limbo's cases are server certificates; the windows engine models client authentication
    for extra in (["--purpose", "server"], ["--purpose", "client", "--engine", "windows"]):
        exit_code = main([*args, *extra, "--json"])
        assert exit_code == 1
        verdicts.update(json.loads(capsys.readouterr().out)["engines"])
    for engine in ENGINES:
        verdict = verdicts[engine]
        assert verdict["verdict"] == "reject" and verdict["message"], engine
        assert verdict["code"] not in ("internal-error", "TRUST_E_FAIL"), verdict
