"""Edges of verification: malformed input fails closed, --what-if parsing is fuzzed, and
--online fetches CRLs from a real local HTTP server."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.cli import main
from certgate.core import _asn1
from certgate.core.engines import VerifyRequest, verify, verify_fast
from certgate.core.model import Certificate
from certgate.core.stores import Machine, Store
from certgate.core.whatif import WHAT_IF_KEYS, parse_what_if
from certgate.testing import PKI


def test_leaf_only_the_lenient_reader_parses_is_rejected_as_malformed(
    pki: PKI, now: datetime
) -> None:
    root = pki.root("Root")
    good = root.client("a")
    lenient = Certificate(good.der, "test", None, None, _asn1.LenientCertificate(good.der))
    machine = Machine((Store("Root", (root.certificate,)),))
    verdicts = verify(VerifyRequest(lenient, (), machine, at=now))
    assert {n: v.code for n, v in verdicts.items()} == {
        "windows": "CERT_E_MALFORMED",
        "openssl": "X509_V_ERR_UNSPECIFIED",
        "rfc5280": "malformed",
    }
    assert not verify_fast(lenient, (), machine, at=now)
    # negative control: the same bytes, parsed normally, are accepted
    assert all(
        v.accepted for v in verify(VerifyRequest(good.certificate, (), machine, at=now)).values()
    )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_what_if_parser_never_crashes(text: str) -> None:
    try:
        change = parse_what_if(text)
    except ValueError:
        return
    assert change.key in WHAT_IF_KEYS


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(WHAT_IF_KEYS), st.text(max_size=60))
def test_what_if_apply_fails_only_with_value_error(key: str, value: str) -> None:
    try:
        change = parse_what_if(f"{key}={value}")
    except ValueError:
        return
    with contextlib.suppress(ValueError):
        change.apply(Machine())  # anything but ValueError fails the test


def test_what_if_move_and_remove(pki: PKI) -> None:
    root = pki.root("Root")
    inter = root.intermediate("Issuing")
    machine = Machine((Store("Root", (root.certificate, inter.certificate)),))
    moved = parse_what_if(f"move={inter.sha1}:Root->CA").apply(machine)
    assert moved.store("CA").certificates == (inter.certificate,)
    assert inter.certificate not in moved.store("Root")
    removed = parse_what_if(f"remove={inter.sha1}:Root").apply(machine)
    assert removed.store("Root").certificates == (root.certificate,)
    with pytest.raises(ValueError, match="no certificate"):
        parse_what_if(f"remove={inter.sha1}:CA").apply(machine)


class CRLServer:
    """A real HTTP server on 127.0.0.1 serving one CRL at /issuing.crl."""

    def __init__(self) -> None:
        self.body = b""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/issuing.crl":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/issuing.crl"


@pytest.fixture
def crl_server() -> Iterator[CRLServer]:
    server = CRLServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def test_online_fetches_the_crl_from_the_distribution_point(
    tmp_path: Path, pki: PKI, crl_server: CRLServer, capsys: pytest.CaptureFixture[str]
) -> None:
    root = pki.root("Root")
    issuing = root.intermediate("Issuing")
    alice = issuing.client("alice", crl_urls=[crl_server.url])
    crl_server.body = issuing.crl([alice]).public_bytes(serialization.Encoding.DER)
    alice.write_pem(tmp_path / "alice.pem")
    issuing.write_pem(tmp_path / "issuing.pem")
    root.write_pem(tmp_path / "root.pem")
    args = ["verify", str(tmp_path / "alice.pem"), "--chain", str(tmp_path / "issuing.pem")]
    args += ["--root", str(tmp_path / "root.pem"), "--at", "2026-06-01T12:00Z", "--json"]
    assert main(args) == 0  # offline (the default): no CRL, nothing says revoked
    assert json.loads(capsys.readouterr().out)["engines"]["rfc5280"]["code"] == "ok"
    assert main([*args, "--online"]) == 1
    online = json.loads(capsys.readouterr().out)
    assert online["engines"]["windows"]["iis_status"] == "403.13"
    assert online["engines"]["rfc5280"]["code"] == "revoked"


def test_online_unreachable_is_a_warning_not_a_crash(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    root = pki.root("Root")
    alice = root.client("alice", crl_urls=["http://127.0.0.1:9/none.crl"])
    alice.write_pem(tmp_path / "alice.pem")
    root.write_pem(tmp_path / "root.pem")
    args = ["verify", str(tmp_path / "alice.pem"), "--root", str(tmp_path / "root.pem")]
    assert main([*args, "--at", "2026-06-01T12:00Z", "--online", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert any("CRL not fetched" in w for w in document["warnings"])
