"""Proxy and WSGI modes, limits (oversize and slow clients), logs read back, shutdown, CRLs."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL
from twisted.internet import reactor
from twisted.internet.threads import blockingCallFromThread

from certgate.demo.live import run_live_demo
from certgate.gate.backends import UpstreamProxy, WsgiApp
from certgate.gate.client import ClientIdentity, client_context, fetch
from certgate.logs import LogScan
from certgate.testing import PKI, Issued
from gate_support import config, gate, identity, machine


@pytest.fixture
def pkix(pki: PKI) -> dict[str, Issued]:
    root = pki.root("CN=Root")
    issuing = root.intermediate("CN=Issuing", path_length=0)
    return {
        "root": root,
        "issuing": issuing,
        "alice": issuing.client("CN=alice,OU=Finance,O=Contoso", san=["upn:alice@contoso.test"]),
    }


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"path": self.path, "headers": dict(self.headers.items())}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/base"
    finally:
        server.shutdown()
        server.server_close()


FORGED = {
    "Certgate-Identity": "admin",
    "X-Forwarded-Client-Cert": 'Hash=x;Subject="CN=admin"',
    "X-SSL-Client-Cert": "forged",
    "Remote-User": "admin",
}


def test_reverse_proxy_forwards_identity_and_strips_forgeries(
    pkix: dict[str, Issued], tmp_path: Path, now: datetime, upstream: str
) -> None:
    policy = {"mapping": {"san": [{"name": "upn", "type": "upn", "match": "*@contoso.test"}]}}
    cfg = config(policy, tmp_path, machine([pkix["root"]], [pkix["issuing"]]))
    with gate(cfg, now, UpstreamProxy(upstream)) as running:
        response = fetch(running.url + "/orders?id=7", identity(pkix["alice"]), headers=FORGED)
        anonymous = fetch(running.url + "/orders", headers=FORGED)
    assert response.status == 200
    seen = {k.lower(): v for k, v in json.loads(response.body)["headers"].items()}
    assert json.loads(response.body)["path"] == "/base/orders?id=7"
    assert seen["certgate-identity"] == "alice@contoso.test"
    assert seen["certgate-identity-rule"] == "san:upn"
    assert seen["certgate-client-sha1"] == pkix["alice"].sha1
    assert seen["certgate-client-subject"] == "CN=alice, OU=Finance, O=Contoso"
    assert seen["x-forwarded-proto"] == "https"
    for forged in ("x-forwarded-client-cert", "x-ssl-client-cert", "remote-user"):
        assert forged not in seen
    assert anonymous.header("certgate-status") == "403.7"  # forged headers do not authenticate


def test_unreachable_upstream_is_502(
    pkix: dict[str, Issued], tmp_path: Path, now: datetime
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    cfg = config({}, tmp_path, machine([pkix["root"]], [pkix["issuing"]]))
    with gate(cfg, now, UpstreamProxy(f"http://127.0.0.1:{closed}")) as running:
        response = fetch(running.url + "/", identity(pkix["alice"]))
    assert (response.status, response.body) == (
        502,
        b"502 Bad Gateway: the upstream could not be reached\n",
    )


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    keys = ("certgate.identity", "REMOTE_USER", "SSL_CLIENT_VERIFY", "SSL_CLIENT_S_DN")
    seen = {k: environ.get(k) for k in keys}
    seen["forged"] = [
        k for k in environ if k.startswith("HTTP_CERTGATE") or k == "HTTP_REMOTE_USER"
    ]
    body = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def test_wsgi_app_gets_identity_in_environ(
    pkix: dict[str, Issued], tmp_path: Path, now: datetime
) -> None:
    policy = {
        "mapping": {
            "many_to_one": [
                {
                    "name": "fin",
                    "user": "CONTOSO\\finance",
                    "rules": [
                        {
                            "field": "Issuer",
                            "subfield": "CN",
                            "match": "iss*",
                            "case_sensitive": False,
                        }
                    ],
                }
            ]
        }
    }  # fmt: skip
    cfg = config(policy, tmp_path, machine([pkix["root"]], [pkix["issuing"]]))
    with gate(cfg, now, WsgiApp(_wsgi_app)) as running:
        response = fetch(running.url + "/app", identity(pkix["alice"]), headers=FORGED)
    assert response.status == 200
    assert json.loads(response.body) == {
        "certgate.identity": "CONTOSO\\finance",
        "REMOTE_USER": "CONTOSO\\finance",
        "SSL_CLIENT_VERIFY": "SUCCESS",
        "SSL_CLIENT_S_DN": "CN=alice, OU=Finance, O=Contoso",
        "forged": [],
    }


def _tls(url: str) -> tuple[socket.socket, SSL.Connection]:
    port = int(url.rsplit(":", 1)[1])
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw.settimeout(None)  # pyOpenSSL needs a blocking socket; SO_RCVTIMEO bounds the wait
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 20, 0))
    connection = SSL.Connection(client_context(None), raw)
    connection.set_connect_state()
    return raw, connection


def _closed_by_server(connection: SSL.Connection, raw: socket.socket) -> bytes:
    """Everything the server sends until it closes (the client would wait 20 s)."""
    data = b""
    while True:
        try:
            chunk = connection.recv(65536)
        except SSL.WantReadError:
            raise AssertionError("the server kept the connection open for 20 s") from None
        except (SSL.ZeroReturnError, SSL.SysCallError):
            return data
        if not chunk:
            return data
        data += chunk


LIMITS = {
    "location": [{"path": "/", "client_cert": "accept"}],
    "limits": {
        "max_header_bytes": 2048,
        "max_body_bytes": 1000,
        "handshake_timeout": 0.3,
        "header_timeout": 0.3,
        "idle_timeout": 30.0,
    },
}


def test_oversize_headers_and_body_are_refused(tmp_path: Path, now: datetime) -> None:
    with gate(config(LIMITS, tmp_path), now) as running:
        big_header = fetch(running.url + "/", headers={"X-Big": "a" * 4096})
        many = fetch(running.url + "/", headers={f"X-{i}": "b" * 60 for i in range(60)})
        big_body = fetch(running.url + "/", method="POST", body=b"x" * 5000)
        fine = fetch(running.url + "/", method="POST", body=b"x" * 500)
    assert big_header.status == 431
    assert many.status == 400
    assert big_body.status == 413
    assert fine.status == 200


def test_chunked_body_over_the_limit_is_cut(tmp_path: Path, now: datetime) -> None:
    with gate(config(LIMITS, tmp_path), now) as running:
        raw, connection = _tls(running.url)
        connection.do_handshake()
        head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        connection.sendall(head + b"".join(b"200\r\n" + b"y" * 0x200 + b"\r\n" for _ in range(4)))
        answer = _closed_by_server(connection, raw)
        raw.close()
    assert answer.startswith(b"HTTP/1.1 413")


def test_slow_handshake_is_dropped(tmp_path: Path, now: datetime) -> None:
    with gate(config(LIMITS, tmp_path), now) as running:
        port = int(running.url.rsplit(":", 1)[1])
        raw = socket.create_connection(("127.0.0.1", port), timeout=20)
        raw.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then nothing
        try:
            closed = raw.recv(1) == b""  # the server closes; the client would wait 20 s
        except ConnectionResetError:
            closed = True  # aborted: a reset is a close too
        raw.close()
        assert closed


def test_idle_connection_is_closed(tmp_path: Path, now: datetime) -> None:
    limits = {"location": [{"path": "/", "client_cert": "accept"}], "limits": {"idle_timeout": 0.3}}
    with gate(config(limits, tmp_path), now) as running:
        raw, connection = _tls(running.url)
        connection.do_handshake()
        connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # kept alive, then silence
        answer = _closed_by_server(connection, raw)
        raw.close()
    assert answer.startswith(b"HTTP/1.1 200")


def test_slow_headers_are_dropped(tmp_path: Path, now: datetime) -> None:
    with gate(config(LIMITS, tmp_path), now) as running:
        raw, connection = _tls(running.url)
        connection.do_handshake()
        connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # headers never finish
        assert _closed_by_server(connection, raw) == b""
        raw.close()


def test_chain_cap(pki: PKI, tmp_path: Path, now: datetime) -> None:
    root = pki.root("CN=Deep Root")
    node = root
    for depth in range(4):
        node = node.intermediate(f"CN=Level {depth}")
    leaf = node.client("CN=deep")
    cfg = config({"limits": {"max_chain_certificates": 3}}, tmp_path, machine([root]))
    with gate(cfg, now) as running:
        response = fetch(running.url + "/", identity(leaf))
    assert response.header("certgate-status") == "403.16"
    assert json.loads(response.body)["code"] == "chain-too-long"


def test_logs_are_read_back_by_certgate_logs(
    pkix: dict[str, Issued], pki: PKI, tmp_path: Path, now: datetime
) -> None:
    other = pki.root("CN=Other")
    stranger = other.client("CN=mallory")
    sends_root = ClientIdentity(stranger.x509, stranger.key, (other.x509,))
    expired = pkix["issuing"].client("CN=old", expired=True)
    logs = tmp_path / "logs"
    policy = {"logs": {"w3c_dir": str(logs), "svclog": str(logs / "gate.svclog")}}
    cfg = config(policy, tmp_path, machine([pkix["root"]], [pkix["issuing"]]))
    with gate(cfg, now) as running:
        assert fetch(running.url + "/ok", identity(pkix["alice"])).status == 200
        assert fetch(running.url + "/none").status == 403
        assert fetch(running.url + "/stranger", sends_root).status == 403
        assert fetch(running.url + "/old", identity(expired)).status == 403
    scan = LogScan([str(logs)], since=None, until=None)
    events = list(scan)
    by_format = sorted({(f.format, f.events) for f in scan.files})
    assert by_format == [("iis-w3c", 3), ("svclog", 3)]
    codes = sorted({c for e in events for c in e.codes})
    assert codes == [
        "hresult:CERT_E_EXPIRED",
        "hresult:CERT_E_UNTRUSTEDROOT",
        "hresult:E_ACCESSDENIED",
        "iis:403.16",
        "iis:403.17",
        "iis:403.7",
        "wcf:HttpsClientCertificateInvalid",
        "wcf:HttpsClientCertificateNotPresent",
    ]
    w3c = [e for e in events if e.format == "iis-w3c" and e.substatus == 16]
    assert [e.thumbprint for e in w3c] == [stranger.sha1]
    assert w3c[0].url == "/stranger"


def test_graceful_shutdown_finishes_the_request_in_flight(tmp_path: Path, now: datetime) -> None:
    release = threading.Event()
    entered = threading.Event()

    def slow_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        entered.set()
        release.wait(20)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]

    cfg = config({"location": [{"path": "/", "client_cert": "accept"}]}, tmp_path)
    result: dict[str, Any] = {}
    with gate(cfg, now, WsgiApp(slow_app)) as running:
        worker = threading.Thread(target=lambda: result.update(r=fetch(running.url + "/")))
        worker.start()
        assert entered.wait(20)
        stopper = threading.Thread(target=lambda: running.stop(20.0))
        stopper.start()
        refused = _wait_closed(running)
        release.set()
        worker.join(20)
        stopper.join(20)
        assert not stopper.is_alive()
    assert result["r"].status == 200 and result["r"].body == b"done"
    assert refused


def _wait_closed(running: Any) -> bool:
    """True once the listening socket is closed (Twisted's port says so); polls up to 10 s.
    Asking the port, not connecting: a freed port number may be reused by another test."""
    for _ in range(200):
        if not running.server.port.connected:
            return True
        threading.Event().wait(0.05)
    return False


def test_crl_refresh_revokes_without_restart(
    pkix: dict[str, Issued], tmp_path: Path, now: datetime
) -> None:
    crl = tmp_path / "issuing.crl"
    crl.write_bytes(pkix["issuing"].crl().public_bytes(Encoding.PEM))
    policy = {"trust": {"crls": [str(crl)], "crl_refresh": 3600}}
    cfg = config(policy, tmp_path, machine([pkix["root"]], [pkix["issuing"]]))
    with gate(cfg, now) as running:
        assert fetch(running.url + "/", identity(pkix["alice"])).status == 200
        generation = running.server.judge.generation
        crl.write_bytes(crl.read_bytes() * 2)  # the same CRL (twice): the verdicts still hold
        blockingCallFromThread(reactor, running.server.refresh_crls)
        assert running.server.judge.generation == generation
        revoked = pkix["issuing"].crl(revoked=[pkix["alice"]], number=2)
        crl.write_bytes(revoked.public_bytes(Encoding.PEM))
        blockingCallFromThread(reactor, running.server.refresh_crls)
        response = fetch(running.url + "/", identity(pkix["alice"]))
        assert running.server.judge.generation != generation
        crl.write_bytes(b"garbage")  # a broken CRL file keeps the last good CRLs
        blockingCallFromThread(reactor, running.server.refresh_crls)
        still = fetch(running.url + "/", identity(pkix["alice"]))
    assert response.header("certgate-status") == "403.13"
    assert still.header("certgate-status") == "403.13"


def test_seed_case_reproduced_and_fixed_live(tmp_path: Path) -> None:
    moved = run_live_demo(tmp_path / "a", fix="move")
    mode2 = run_live_demo(tmp_path / "b", fix="trust-mode")
    for result in (moved, mode2):
        assert (result.before.status, result.before.iis_status) == (403, "403.16")
        assert result.before.hresult == "0x800B0109"
        assert result.before.explain == "hresult:CERT_E_UNTRUSTEDROOT"
        assert "trusted-issuer list" in (result.before.reason or "")
        assert (result.after.status, result.after.iis_status) == (200, "200")
    assert moved.fix.startswith("move=") and moved.fix.endswith(":Root:CA")
    assert mode2.fix == "trust-mode=2"
