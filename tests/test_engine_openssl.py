"""The openssl engine reports OpenSSL's own error number, name and depth."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from certgate.core.checks import Purpose
from certgate.core.codes import x509_v_name
from certgate.core.engines import EMITTED_CODES, Verdict, VerifyRequest, verify
from certgate.core.stores import Machine, Store
from certgate.testing import PKI, SERVER_AUTH, Issued


def judge(
    leaf: Issued, chain: list[Issued], roots: list[Issued], at: datetime, **options: Any
) -> Verdict:
    m = Machine((Store("Root", tuple(r.certificate for r in roots)),))
    request = VerifyRequest(
        leaf.certificate, tuple(c.certificate for c in chain), m, at=at, **options
    )
    verdict = verify(request, ["openssl"])["openssl"]
    assert verdict.code in EMITTED_CODES["openssl"]
    return verdict


def test_valid_chain(pki: PKI, now: datetime) -> None:
    root = pki.root("R")
    inter = root.intermediate("I")
    leaf = inter.client("a")
    verdict = judge(leaf, [inter], [root], now)
    assert verdict.accepted and verdict.code == "X509_V_OK"
    assert [c.sha1 for c in verdict.path] == [leaf.sha1, inter.sha1, root.sha1]


def test_untrusted_root_error_and_depth(pki: PKI, now: datetime) -> None:
    root = pki.root("R")
    inter = root.intermediate("I")
    verdict = judge(inter.client("a"), [inter], [pki.root("Other")], now)
    assert verdict.code == "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"
    assert verdict.openssl is not None and (verdict.openssl.error, verdict.openssl.depth) == (20, 1)


def test_expired_leaf(pki: PKI, now: datetime) -> None:
    root = pki.root("R")
    verdict = judge(root.client("a", expired=True), [], [root], now)
    assert verdict.code == "X509_V_ERR_CERT_HAS_EXPIRED"
    assert verdict.openssl is not None and verdict.openssl.depth == 0


def test_purpose_sslclient(pki: PKI, now: datetime) -> None:
    root = pki.root("R")
    server_only = root.client("svc", eku=(SERVER_AUTH,))
    assert judge(server_only, [], [root], now).code == "X509_V_ERR_INVALID_PURPOSE"
    assert judge(server_only, [], [root], now, purpose=Purpose.SERVER).accepted


def test_partial_chain_option(pki: PKI, now: datetime) -> None:
    """python-deps §1: without PARTIAL_CHAIN an intermediate in Root is not an anchor."""
    root = pki.root("R")
    inter = root.intermediate("I")
    leaf = inter.client("a")
    assert judge(leaf, [], [inter], now).code == "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT"
    assert judge(leaf, [], [inter], now, partial_chain=True).accepted


def test_revoked_with_crl(pki: PKI, now: datetime) -> None:
    root = pki.root("R")
    leaf = root.client("a")
    assert judge(leaf, [], [root], now, crls=(root.crl([leaf]),)).code == "X509_V_ERR_CERT_REVOKED"
    assert judge(leaf, [], [root], now, crls=(root.crl(),)).accepted


def test_error_table_matches_the_openssl_cli(tmp_path: Path, pki: PKI) -> None:
    """Our X509_V_ERR table is checked against the real openssl binary's error strings."""
    root = pki.root("R")
    leaf = root.client("a", expired=True)
    root.write_pem(tmp_path / "root.pem")
    leaf.write_pem(tmp_path / "leaf.pem")
    result = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "root.pem"), str(tmp_path / "leaf.pem")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "error 10 at 0 depth lookup: certificate has expired" in result.stdout + result.stderr
    assert x509_v_name(10) == "X509_V_ERR_CERT_HAS_EXPIRED"


@pytest.mark.parametrize("number", [0, 2, 7, 18, 19, 20, 21, 23, 26, 79, 95])
def test_emitted_codes_cover_the_table(number: int) -> None:
    assert x509_v_name(number) in EMITTED_CODES["openssl"]
