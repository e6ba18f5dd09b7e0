"""Real OpenSSL output, explained: what `openssl verify`, `s_server` and `s_client` print for
client-certificate failures must lead to the right knowledge-base entry."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import CertificateRevocationList

from certgate.core.kb import knowledge_base
from certgate.testing import PKI, Issued, pem_bundle

KB = knowledge_base()


def ids(text: str) -> list[str]:
    return [match.entry.id for match in KB.lookup(text)]


def verify(
    tmp_path: Path,
    now: datetime,
    leaf: Issued,
    ca: list[Issued],
    untrusted: list[Issued] | None = None,
    purpose: str | None = None,
    crl: CertificateRevocationList | None = None,
) -> str:
    """Run ``openssl verify`` at ``now``; return what it printed (stdout and stderr)."""
    (tmp_path / "ca.pem").write_bytes(pem_bundle(ca))
    leaf.write_pem(tmp_path / "leaf.pem")
    command = ["openssl", "verify", "-attime", str(int(now.timestamp()))]
    command += ["-CAfile", str(tmp_path / "ca.pem")]
    if untrusted:
        (tmp_path / "untrusted.pem").write_bytes(pem_bundle(untrusted))
        command += ["-untrusted", str(tmp_path / "untrusted.pem")]
    if purpose:
        command += ["-purpose", purpose]
    if crl is not None:
        (tmp_path / "crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        command += ["-crl_check", "-CRLfile", str(tmp_path / "crl.pem")]
    command.append(str(tmp_path / "leaf.pem"))
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=30)
    return done.stdout + done.stderr


def test_a_missing_intermediate_is_error_20(pki: PKI, now: datetime, tmp_path: Path) -> None:
    root = pki.root("Root")
    leaf = root.intermediate("Issuing CA").client("alice")
    output = verify(tmp_path, now, leaf, [root])
    assert "error 20 at 0 depth lookup" in output
    assert ids(output)[0] == "openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"


def test_the_complete_chain_verifies_and_explains_nothing(
    pki: PKI, now: datetime, tmp_path: Path
) -> None:
    """Positive control of the test above: with the intermediate, OpenSSL says OK."""
    root = pki.root("Root")
    issuing = root.intermediate("Issuing CA")
    output = verify(tmp_path, now, issuing.client("alice"), [root], untrusted=[issuing])
    assert output.strip().endswith(": OK")
    assert not [i for i in ids(output) if i.startswith("openssl:X509_V_ERR")]


def _failure(pki: PKI, now: datetime, tmp_path: Path, case: str) -> str:
    root = pki.root("Root")
    issuing = root.intermediate("Issuing CA")
    if case == "expired":
        return verify(tmp_path, now, issuing.client("a", expired=True), [root], [issuing])
    if case == "untrusted-root":
        other = pki.root("Other")
        return verify(tmp_path, now, issuing.client("a"), [other], [issuing, root])
    if case == "self-signed":
        return verify(tmp_path, now, pki.root("a", ca=False), [root])
    if case == "server-eku":
        server = issuing.server("www.example.test")
        return verify(tmp_path, now, server, [root], [issuing], purpose="sslclient")
    leaf = issuing.client("a")
    return verify(tmp_path, now, leaf, [root, issuing], crl=issuing.crl(revoked=[leaf]))


@pytest.mark.parametrize(
    ("case", "expected", "printed"),
    [
        ("expired", "openssl:X509_V_ERR_CERT_HAS_EXPIRED", "error 10 at 0 depth"),
        ("untrusted-root", "openssl:X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN", "error 19 at 2 depth"),
        ("self-signed", "openssl:X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT", "error 18 at 0 depth"),
        ("server-eku", "openssl:X509_V_ERR_INVALID_PURPOSE", "error 26 at 0 depth"),
        ("revoked", "openssl:X509_V_ERR_CERT_REVOKED", "error 23 at 0 depth"),
    ],
)
def test_openssl_verify_failures(
    pki: PKI, now: datetime, tmp_path: Path, case: str, expected: str, printed: str
) -> None:
    output = _failure(pki, now, tmp_path, case)
    assert printed in output
    assert ids(output)[0] == expected


@contextmanager
def s_server(tmp_path: Path, server: Issued, client_ca: Issued) -> Iterator[tuple[int, list[str]]]:
    """A real ``openssl s_server`` that requires a client certificate from ``client_ca``."""
    server.write_pem(tmp_path / "srv.pem")
    server.write_key(tmp_path / "srv.key")
    client_ca.write_pem(tmp_path / "client-ca.pem")
    command = ["openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1"]
    command += ["-cert", str(tmp_path / "srv.pem"), "-key", str(tmp_path / "srv.key")]
    command += ["-Verify", "2", "-verify_return_error", "-CAfile", str(tmp_path / "client-ca.pem")]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line)
            if accept := re.match(r"ACCEPT .*:(\d+)$", line.strip()):
                break
        else:
            raise AssertionError(f"s_server did not start: {lines}")
        yield int(accept.group(1)), lines
    finally:
        process.kill()
        lines += process.communicate(timeout=10)[0].splitlines()


def s_client(tmp_path: Path, port: int, ca: Issued, client: Issued | None) -> str:
    ca.write_pem(tmp_path / "server-ca.pem")
    command = ["openssl", "s_client", "-tls1_2", "-connect", f"127.0.0.1:{port}"]
    command += ["-CAfile", str(tmp_path / "server-ca.pem")]
    if client is not None:
        client.write_pem(tmp_path / "cli.pem")
        client.write_key(tmp_path / "cli.key")
        command += ["-cert", str(tmp_path / "cli.pem"), "-key", str(tmp_path / "cli.key")]
    done = subprocess.run(
        command, stdin=subprocess.DEVNULL, check=False, capture_output=True, text=True, timeout=30
    )
    return done.stdout + done.stderr


def test_a_client_certificate_from_an_unknown_ca_is_alert_48(tmp_path: Path) -> None:
    pki = PKI()  # s_server and s_client check validity against the real clock
    server_root = pki.root("Server Root")
    with s_server(tmp_path, server_root.server("localhost"), pki.root("Trusted Root")) as (
        port,
        server_log,
    ):
        client_said = s_client(tmp_path, port, server_root, pki.root("Other").client("alice"))
    assert "SSL alert number 48" in client_said
    assert ids(client_said)[0] == "tls-alert:48"
    server_said = "".join(server_log)
    assert "verify error:num=20" in server_said
    assert ids(server_said)[:2] == [
        "openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
        "openssl:SSL_R_CERTIFICATE_VERIFY_FAILED",
    ]


def test_no_client_certificate_at_all(tmp_path: Path) -> None:
    pki = PKI()
    server_root = pki.root("Server Root")
    with s_server(tmp_path, server_root.server("localhost"), pki.root("Trusted Root")) as (
        port,
        server_log,
    ):
        client_said = s_client(tmp_path, port, server_root, None)
    assert "tls-alert:40" in ids(client_said)
    assert ids("".join(server_log))[0] == "openssl:SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE"
