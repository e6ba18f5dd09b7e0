"""The gate attacked as issue 12 describes, loopback only, every loop bounded.

Each case asserts that no bad client gets through (the upstream sees exactly what the gate
means to forward), that good clients keep being served, and that the gate's memory stays
bounded. The upstreams: an h11 recorder (uvicorn's parser, seeing raw bytes) in-process, and
for the battery (``test_attack_battery``: ``certgate serve`` as a process) none, real uvicorn
and real nginx.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from certgate.gate.backends import UpstreamProxy
from certgate.gate.client import ClientIdentity, fetch
from certgate.gate.config import GateConfig
from certgate.gate.runner import RunningGate
from certgate.testing import PKI, Issued
from gate_support import (
    RecordingUpstream,
    config,
    gate,
    identity,
    machine,
    raw_exchange,
    recording_upstream,
    statuses,
)

POLICY: dict[str, Any] = {
    "mapping": {
        "many_to_one": [
            {
                "name": "Finance",
                "user": "CONTOSO\\finance",
                "rules": [{"field": "Subject", "subfield": "OU", "match": "Finance"}],
            }
        ]
    },
    "location": [
        {"path": "/", "client_cert": "require", "identity": "required"},
        {"path": "/public", "client_cert": "ignore", "identity": "none"},
    ],
    "limits": {
        "upstream_header_timeout": 20.0,  # generous: CI is slow; the timeout tests set theirs
        "upstream_idle_timeout": 20.0,
        "idle_timeout": 2.0,
        # no test here is about these two (the battery's own policy is): generous, so a
        # client's handshake on a loaded machine is never cut by the clock
        "header_timeout": 10.0,
        "handshake_timeout": 10.0,
    },
}


@pytest.fixture
def pkix(pki: PKI) -> dict[str, Issued]:
    root = pki.root("CN=Contoso Root,O=Contoso")
    issuing = root.intermediate("CN=Contoso Issuing,O=Contoso", path_length=0)
    return {
        "root": root,
        "issuing": issuing,
        "alice": issuing.client("CN=alice,OU=Finance,O=Contoso"),
    }


@pytest.fixture
def cfg(pkix: dict[str, Issued], tmp_path: Path) -> GateConfig:
    return config(POLICY, tmp_path, machine([pkix["root"]], [pkix["issuing"]]))


@pytest.fixture
def impatient(pkix: dict[str, Issued], tmp_path: Path) -> GateConfig:
    """Upstream header and idle timeouts of 1.5 s."""
    limits = {**POLICY["limits"], "upstream_header_timeout": 1.5, "upstream_idle_timeout": 1.5}
    return config(
        {**POLICY, "limits": limits}, tmp_path, machine([pkix["root"]], [pkix["issuing"]])
    )


@pytest.fixture
def alice(pkix: dict[str, Issued]) -> ClientIdentity:
    return identity(pkix["alice"])


@pytest.fixture
def proxied(cfg: GateConfig, now: datetime) -> Iterator[tuple[RunningGate, RecordingUpstream]]:
    with recording_upstream() as upstream, gate(cfg, now, UpstreamProxy(upstream.url)) as running:
        yield running, upstream


def _host(running: RunningGate) -> bytes:
    return f"127.0.0.1:{running.port}".encode()


SMUGGLED = (
    b"0\r\n\r\nGET /orders/admin-only HTTP/1.1\r\nHost: x\r\n"
    b"Certgate-Identity: CONTOSO\\administrator\r\nCertgate-Client-Verify: SUCCESS\r\n\r\n"
)


def test_chunked_body_cannot_smuggle_a_second_request(
    proxied: tuple[RunningGate, RecordingUpstream],
) -> None:
    running, upstream = proxied
    chunk = f"{len(SMUGGLED):x}\r\n".encode() + SMUGGLED + b"\r\n0\r\n\r\n"
    request = (
        b"POST /public/form HTTP/1.1\r\nHost: " + _host(running) + b"\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunk
    )
    answer = raw_exchange(running.url, request)
    assert statuses(answer) == [200]
    assert [(r.method, r.target) for r in upstream.requests] == [("POST", "/public/form")]
    seen = upstream.requests[0]
    assert seen.body == SMUGGLED
    assert len(seen.values("transfer-encoding") + seen.values("content-length")) == 1
    assert seen.values("certgate-client-verify") == ["NONE"]
    assert seen.values("certgate-identity") == []


def test_content_length_body_is_forwarded_with_one_length(
    proxied: tuple[RunningGate, RecordingUpstream], alice: ClientIdentity
) -> None:
    running, upstream = proxied
    response = fetch(running.url + "/orders", alice, method="POST", body=b"x" * 70000)
    assert response.status == 200
    (seen,) = upstream.requests
    assert seen.values("content-length") == ["70000"]
    assert seen.values("transfer-encoding") == []
    assert seen.body == b"x" * 70000
    assert seen.values("certgate-identity") == ["CONTOSO\\finance"]


FORGED = {
    "Certgate_Identity": "admin",
    "certgate-identity": "admin",
    "X_Forwarded_For": "10.9.9.9",
    "X-Forwarded-For": "10.8.8.8",
    "X-Forwarded-Host": "evil.example",
    "Forwarded": "for=10.7.7.7",
    "X-Real-IP": "10.6.6.6",
    "X-Original-URL": "/orders/admin-only",
    "SSL_CLIENT_S_DN": "CN=admin",
    "Connection": "close, X-Keep-Me-Not",
    "X-Keep-Me-Not": "hop",
    "X-Kept": "end-to-end",
}


def test_underscore_and_forwarding_headers_are_the_gates_alone(
    proxied: tuple[RunningGate, RecordingUpstream], alice: ClientIdentity
) -> None:
    running, upstream = proxied
    public = fetch(running.url + "/public/x", headers=FORGED)
    private = fetch(running.url + "/orders", alice, headers=FORGED)
    assert (public.status, private.status) == (200, 200)
    anonymous, known = upstream.requests
    for seen in (anonymous, known):
        names = [name for name, _ in seen.headers]
        assert not [n for n in names if "_" in n]
        assert seen.values("x-forwarded-for") == ["127.0.0.1"]
        assert seen.values("x-real-ip") == ["127.0.0.1"]
        assert seen.values("forwarded") == [
            f'for=127.0.0.1;proto=https;host="127.0.0.1:{running.port}"'
        ]
        assert seen.values("x-forwarded-host") == [f"127.0.0.1:{running.port}"]
        assert seen.values("x-original-url") == []
        assert seen.values("x-keep-me-not") == []
        assert seen.values("x-kept") == ["end-to-end"]
        assert seen.values("host") == [upstream.url.removeprefix("http://")]
    assert anonymous.values("certgate-identity") == []
    assert known.values("certgate-identity") == ["CONTOSO\\finance"]


def test_a_trusted_proxy_keeps_its_forwarding_chain(
    pkix: dict[str, Issued], tmp_path: Path, now: datetime
) -> None:
    trusting = {**POLICY, "forwarding": {"trusted_proxies": ["127.0.0.0/8"]}}
    cfg = config(trusting, tmp_path, machine([pkix["root"]], [pkix["issuing"]]))
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}
    with recording_upstream() as upstream, gate(cfg, now, UpstreamProxy(upstream.url)) as running:
        assert fetch(running.url + "/public/", headers=headers).status == 200
    (seen,) = upstream.requests
    assert seen.values("x-forwarded-for") == ["203.0.113.9, 127.0.0.1"]
    assert seen.values("x-real-ip") == ["203.0.113.9"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/public/..%5corders", 403),  # IIS: \ is /, so this is /orders
        ("/public/..\\orders", 403),
        ("/public/..;/orders", 400),  # Tomcat resolves ..; as ..
        ("/public/..%252forders", 400),  # double escaping (IIS allowDoubleEscaping=false)
        ("/public/%2e%2e/orders", 403),
        ("/public/x%00", 400),
        ("/public/%c0%ae%c0%ae/orders", 400),  # overlong UTF-8
        ("/../orders", 400),
        ("/public/x%zz", 400),
        ("/orders.", 400),  # Windows drops the trailing dot: /orders
        ("/orders::$DATA", 400),
        ("http://evil/public/x", 400),
        ("/PUBLIC/a/../b", 200),
    ],
)
def test_one_canonical_path(
    proxied: tuple[RunningGate, RecordingUpstream], path: str, status: int
) -> None:
    running, upstream = proxied
    request = f"GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode()
    answer = raw_exchange(running.url, request)
    assert statuses(answer) == [status], answer[:200]
    if status == 200:
        assert [r.target for r in upstream.requests] == ["/PUBLIC/b"]
    else:
        assert upstream.requests == []


def test_path_parameters_are_judged_without_them(
    proxied: tuple[RunningGate, RecordingUpstream],
) -> None:
    running, upstream = proxied
    assert fetch(running.url + "/public;x/../orders").status == 403
    assert fetch(running.url + "/orders;jsessionid=1").status == 403  # judged as /orders
    assert fetch(running.url + "/public/a;b=c").status == 200
    assert [r.target for r in upstream.requests] == ["/public/a;b=c"]


def test_silent_upstream_is_504_and_the_gate_keeps_serving(
    impatient: GateConfig, now: datetime, alice: ClientIdentity
) -> None:
    cfg = impatient
    import socket

    silent = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with gate(cfg, now, UpstreamProxy(url)) as running:
            started = time.monotonic()
            response = fetch(running.url + "/orders", alice)
            elapsed = time.monotonic() - started
            assert response.status == 504
            assert elapsed < 9  # the client is not held for the client's own 10 s (timeout 1.5 s)
            assert fetch(running.url + "/orders").status == 403  # still judging
    finally:
        silent.close()


def _environ_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    keys = ("REMOTE_USER", "SSL_CLIENT_S_DN", "SSL_CLIENT_CERT", "PATH_INFO", "certgate.identity")
    seen = {k: environ.get(k) for k in keys}
    seen["http"] = sorted(k for k in environ if k.startswith("HTTP_"))
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(seen).encode()]


def test_wsgi_app_cannot_be_given_an_identity_by_the_client(
    cfg: GateConfig, now: datetime, alice: ClientIdentity, pkix: dict[str, Issued]
) -> None:
    from certgate.gate.backends import WsgiApp

    with gate(cfg, now, WsgiApp(_environ_app)) as running:
        public = fetch(running.url + "/public/..%5cpublic/x", headers=FORGED)
        private = fetch(running.url + "/orders", alice, headers=FORGED)
    anonymous, known = json.loads(public.body), json.loads(private.body)
    assert anonymous["REMOTE_USER"] is None and anonymous["SSL_CLIENT_S_DN"] is None
    assert anonymous["PATH_INFO"] == "/public/x"
    for environ in (anonymous, known):
        assert environ["http"] == ["HTTP_CONNECTION", "HTTP_HOST", "HTTP_X_KEPT"]
    assert known["REMOTE_USER"] == "CONTOSO\\finance"
    assert known["SSL_CLIENT_CERT"] == pkix["alice"].pem.decode()  # PEM, as mod_ssl gives it


# --- the battery: `certgate serve` as a process, standalone and in front of uvicorn and nginx

S = (  # the request a desynchronised upstream would see second
    b"GET /orders/admin-only HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    b"Certgate-Identity: CONTOSO\\administrator\r\nCertgate-Client-Verify: SUCCESS\r\n\r\n"
)
_CHUNKED_S = f"{len(S):x}\r\n".encode() + S + b"\r\n0\r\n\r\n"


def _post(*headers: bytes, body: bytes = b"", version: bytes = b"HTTP/1.1") -> bytes:
    head = b"POST /public/s " + version + b"\r\nHost: h\r\nConnection: close\r\n"
    return head + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


SHAPES: dict[str, bytes] = {
    "cl-te": _post(b"Content-Length: 5", b"Transfer-Encoding: chunked", body=b"0\r\n\r\n" + S),
    "te-cl": _post(b"Transfer-Encoding: chunked", b"Content-Length: 5", body=b"0\r\n\r\n" + S),
    "te-twice": _post(b"Transfer-Encoding: chunked", b"Transfer-Encoding: identity", body=S),
    "te-list": _post(b"Transfer-Encoding: chunked, identity", body=_CHUNKED_S),
    "te-identity-first": _post(b"Transfer-Encoding: identity, chunked", body=_CHUNKED_S),
    "te-identity+cl": _post(
        b"Transfer-Encoding: identity", b"Content-Length: 5", body=b"x" * 5 + S
    ),
    "te-xchunked": _post(b"Transfer-Encoding: xchunked", body=_CHUNKED_S),
    "te-vtab": _post(b"Transfer-Encoding: chunked\x0b", body=_CHUNKED_S),
    "te-space-before-colon": _post(b"Transfer-Encoding : chunked", body=_CHUNKED_S),
    "te-underscore": _post(b"Transfer_Encoding: chunked", b"Content-Length: 3", body=b"0\r\n" + S),
    "te-folded": _post(b"X-A: b", b" Transfer-Encoding: chunked", b"Content-Length: 3", body=S),
    "te-tab": _post(b"Transfer-Encoding:\tchunked", body=_CHUNKED_S),
    "te-upper": _post(b"TRANSFER-ENCODING: CHUNKED", body=_CHUNKED_S),
    "te-http10": _post(b"Transfer-Encoding: chunked", body=_CHUNKED_S, version=b"HTTP/1.0"),
    "cl-twice-same": _post(b"Content-Length: 5", b"Content-Length: 5", body=b"x" * 5 + S),
    "cl-twice-differ": _post(b"Content-Length: 5", b"Content-Length: 0", body=b"x" * 5 + S),
    "cl-list": _post(b"Content-Length: 5, 5", body=b"x" * 5 + S),
    "cl-plus": _post(b"Content-Length: +5", body=b"x" * 5 + S),
    "cl-negative": _post(b"Content-Length: -1", body=S),
    "cl-hex": _post(b"Content-Length: 0x5", body=b"x" * 5 + S),
    "cl-space": _post(b"Content-Length: 5 5", body=b"x" * 5 + S),
    "cl-huge": _post(b"Content-Length: 99999999999999999999999", body=S),
    "chunk-overflow": _post(b"Transfer-Encoding: chunked", body=b"fffffffffffffffff1\r\n" + S),
    "chunk-negative": _post(b"Transfer-Encoding: chunked", body=b"-1\r\n" + S),
    "chunk-0x": _post(b"Transfer-Encoding: chunked", body=b"0x5\r\nhello\r\n0\r\n\r\n" + S),
    "chunk-ext": _post(b"Transfer-Encoding: chunked", body=b"5;a=b\r\nhello\r\n0\r\n\r\n" + S),
    "chunk-no-crlf": _post(b"Transfer-Encoding: chunked", body=b"5\r\nhelloX0\r\n\r\n" + S),
    "chunk-bare-lf": _post(b"Transfer-Encoding: chunked", body=b"5\nhello\n0\n\n" + S),
    "chunk-trailer": _post(
        b"Transfer-Encoding: chunked", body=b"0\r\nCertgate-Identity: admin\r\n\r\n" + S
    ),
    "lf-only-head": b"POST /public/s HTTP/1.1\nHost: h\nContent-Length: 3\n\n0\r\n" + S,
    "double-space": b"GET  /public/s HTTP/1.1\r\nHost: h\r\n\r\n" + S,
    "request-line-extra": b"GET /public/s HTTP/1.1 x\r\nHost: h\r\n\r\n" + S,
    "http2-version": b"GET /public/s HTTP/2.0\r\nHost: h\r\n\r\n" + S,
    "nul-in-header": _post(b"X-A: a\x00b", b"Content-Length: 0") + S,
    "space-in-name": _post(b"Content Length: 5", body=b"x" * 5 + S),
    "two-hosts": _post(b"Host: other", b"Content-Length: 0") + S,
    "no-host": b"GET /public/s HTTP/1.1\r\nConnection: close\r\n\r\n" + S,
    "absolute-form": b"GET http://h/orders/admin-only HTTP/1.1\r\nHost: h\r\n\r\n",
    "pipelined": b"GET /public/a HTTP/1.1\r\nHost: h\r\n\r\n" + S,
    "expect-continue": _post(b"Expect: 100-continue", b"Content-Length: 5", body=b"x" * 5 + S),
}
_ANSWERS = {100, 200, 400, 403, 405, 413}


@dataclass
class Target:
    """A ``certgate serve`` process and what its upstream saw."""

    kind: str
    url: str
    pid: int
    client: ClientIdentity
    seen: Callable[[], list[tuple[str, str, dict[str, str]]]]  # method, target, headers


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


ATTACK_POLICY = """
[trust.stores]
Root = ["root.pem"]
CA = ["ca.pem"]

[[mapping.many_to_one]]
name = "Finance"
user = "CONTOSO\\\\finance"
rules = [{ field = "Subject", subfield = "OU", match = "Finance" }]

[[location]]
path = "/"
client_cert = "require"
identity = "required"

[[location]]
path = "/public"
client_cert = "ignore"
identity = "none"

[limits]
idle_timeout = 10.0
handshake_timeout = 1.0
header_timeout = 1.0
upstream_header_timeout = 5.0
upstream_idle_timeout = 5.0
max_header_bytes = 8192
"""


_NGINX_UPSTREAM = """worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
{user}
events {{ worker_connections 256; }}
http {{
  log_format seen '$request_method $request_uri|$http_certgate_identity'
                  '|$http_certgate_client_verify|$http_x_forwarded_for'
                  '|$http_content_length|$http_transfer_encoding';
  access_log {dir}/access.log seen;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  client_max_body_size 20m;
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 200 "ok\\n"; }}
  }}
}}
"""


@contextmanager
def _upstream(kind: str, folder: Path) -> Iterator[tuple[str | None, Callable[[], list[Any]]]]:
    import os
    import sys

    from servers import free_ports, need, running

    if kind == "standalone":
        yield None, list
        return
    (port,) = free_ports(1)
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "uvicorn":
        record = folder / "seen.jsonl"
        record.touch()
        command = [sys.executable, "-m", "uvicorn", "gate_support:recording_app", "--lifespan",
                   "off", "--port", str(port), "--log-level", "warning", "--app-dir",
                   str(Path(__file__).parent)]  # fmt: skip
        env = {**os.environ, "CERTGATE_RECORD": str(record)}

        def seen() -> list[Any]:
            rows = [json.loads(line) for line in record.read_text().splitlines()]
            return [(r["method"], r["target"], dict(r["headers"])) for r in rows]

        with running(command, [port], folder / "uvicorn.log", env):
            yield f"http://127.0.0.1:{port}", seen
        return
    user = "user nobody nogroup;" if os.geteuid() == 0 else ""
    config = folder / "nginx.conf"
    config.write_text(_NGINX_UPSTREAM.format(dir=folder, port=port, user=user))
    command = [need("nginx"), "-p", str(folder), "-c", str(config), "-g", "daemon off;"]

    def logged() -> list[Any]:
        log = folder / "access.log"
        rows = []
        for line in log.read_text().splitlines() if log.exists() else []:
            request, identity, verify, xff, length, te = line.split("|")
            method, _, target = request.partition(" ")
            headers = {"certgate-identity": identity, "certgate-client-verify": verify,
                       "x-forwarded-for": xff, "content-length": length,
                       "transfer-encoding": te}  # fmt: skip
            kept = {k: _unescape(v) for k, v in headers.items() if v != "-"}
            rows.append((method, _unescape(target), kept))
        return rows

    with running(command, [port], folder / "error.log"):
        yield f"http://127.0.0.1:{port}", logged


def _unescape(text: str) -> str:
    """nginx writes bytes outside printable ASCII (and backslashes) in logs as ``\\xHH``."""
    import re

    return re.sub(r"\\x([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text)


@pytest.fixture(params=["standalone", "uvicorn", "nginx"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    import re
    import subprocess
    import sys
    from datetime import UTC

    pki = PKI(now=datetime.now(UTC))  # the process judges by the real clock
    root = pki.root("CN=Contoso Root,O=Contoso")
    issuing = root.intermediate("CN=Contoso Issuing,O=Contoso", path_length=0)
    root.write_pem(tmp_path / "root.pem")
    issuing.write_pem(tmp_path / "ca.pem")
    (tmp_path / "gate.toml").write_text(ATTACK_POLICY, encoding="utf-8")
    alice = identity(issuing.client("CN=alice,OU=Finance,O=Contoso"))
    with _upstream(request.param, tmp_path / "upstream") as (url, seen):
        policy = str(tmp_path / "gate.toml")
        command = [sys.executable, "-m", "certgate", "serve", "--policy", policy,
                   "--listen", "127.0.0.1:0", "--throwaway-cert"]  # fmt: skip
        if url:
            command += ["--upstream", url]
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        try:
            assert process.stderr is not None
            line = process.stderr.readline()
            found = re.search(r"listening on (https://127\.0\.0\.1:\d+)", line)
            assert found, line
            yield Target(request.param, found.group(1), process.pid, alice, seen)
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def _client_hello() -> bytes:
    from OpenSSL import SSL

    from certgate.gate.client import client_context

    memory = SSL.Connection(client_context(None), None)
    memory.set_connect_state()
    with pytest.raises(SSL.WantReadError):
        memory.do_handshake()
    return memory.bio_read(65536)


def _closed_by_gate(url: str, opening: bytes, drip: bytes, tls: bool, limit: float = 8.0) -> bool:
    """Connect, send ``opening``, then drip ``drip`` a byte every 0.2 s: True when the gate
    closes the connection before ``limit`` seconds (the client would have waited longer)."""
    import select
    import socket

    from OpenSSL import SSL

    from certgate.gate.client import client_context

    port = int(url.rsplit(":", 1)[1])
    raw = socket.create_connection(("127.0.0.1", port), timeout=limit)
    connection: Any = None
    try:
        if tls:
            raw.settimeout(None)
            connection = SSL.Connection(client_context(None), raw)
            connection.set_connect_state()
            connection.do_handshake()
            connection.sendall(opening)
        elif opening:
            raw.sendall(opening)
        stop = time.monotonic() + limit
        index = 0
        while time.monotonic() < stop:
            readable, _, _ = select.select([raw], [], [], 0.2)
            try:
                if readable:
                    data = connection.recv(65536) if tls else raw.recv(65536)
                    if not data:
                        return True
                elif index < len(drip):
                    piece = drip[index : index + 1]
                    (connection.sendall if tls else raw.sendall)(piece)
                    index += 1
            except (OSError, SSL.Error):
                return True
        return False
    finally:
        raw.close()


def _concurrent(url: str, client: ClientIdentity, count: int) -> list[int]:
    """``count`` TLS connections open at once (each with the client certificate), then one
    request on each; the status of each answer."""
    import socket

    from OpenSSL import SSL

    from certgate.gate.client import client_context, request_bytes

    port = int(url.rsplit(":", 1)[1])
    context = client_context(client)
    opened = []
    try:
        for _ in range(count):
            raw = socket.create_connection(("127.0.0.1", port), timeout=20)
            raw.settimeout(None)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, b"\x14" + b"\x00" * 15)
            connection = SSL.Connection(context, raw)
            connection.set_connect_state()
            connection.do_handshake()
            opened.append((raw, connection))
        request = request_bytes("GET", "/orders/x", f"127.0.0.1:{port}")
        for _, connection in opened:
            connection.sendall(request)
        answers = []
        for _, connection in opened:
            data = b""
            while True:
                try:
                    chunk = connection.recv(65536)
                except (SSL.ZeroReturnError, SSL.SysCallError):
                    break
                if not chunk:
                    break
                data += chunk
            answers.extend(statuses(data) or [0])
        return answers
    finally:
        for raw, _ in opened:
            raw.close()


def test_attack_battery(target: Target, pki: PKI) -> None:
    """Every case of issue 12 against one gate process: bad clients are refused or cut off,
    the upstream sees only what the gate means to forward, good clients keep being served,
    and the gate's memory stays bounded."""
    import concurrent.futures

    url, alice = target.url, target.client
    assert fetch(url + "/orders/x", alice).status == 200
    assert fetch(url + "/orders/x").status == 403
    rss_before = _rss_kib(target.pid)

    # bodies (one length, then chunked), spoofed identity headers, path confusion
    assert fetch(url + "/orders/x", alice, method="POST", body=b"b" * 5000).status == 200
    chunked = _post(
        b"Transfer-Encoding: chunked", body=b"1388\r\n" + b"c" * 5000 + b"\r\n0\r\n\r\n"
    )
    assert statuses(raw_exchange(url, chunked)) == [200]
    assert fetch(url + "/public/h", headers=FORGED).status == 200
    assert fetch(url + "/public/..%5corders/x").status == 403
    assert fetch(url + "/public/..;/orders/x").status == 400

    # smuggling shapes (one connection each, 8 at a time: a refusal lingers 0.5 s)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = pool.map(
            lambda shape: statuses(raw_exchange(url, shape, timeout=8)), SHAPES.values()
        )
        for name, got in zip(SHAPES, answers, strict=True):
            assert got and set(got) <= _ANSWERS, (name, got)

    # slow, silent and garbage clients, while good clients are served
    hello = _client_hello()
    slow = {
        "silent TCP": (b"", b"", False),
        "slowloris handshake": (hello[:5], hello[5:], False),
        "garbage instead of TLS": (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"", False),
        "slowloris headers": (b"GET /public/ HTTP/1.1\r\n", b"Host: h\r\nX-A: " + b"a" * 60, True),
    }
    with concurrent.futures.ThreadPoolExecutor(len(slow)) as pool:
        closing = {name: pool.submit(_closed_by_gate, url, *args) for name, args in slow.items()}
        served = [fetch(url + "/orders/x", alice).status for _ in range(3)]
        closed = {name: future.result() for name, future in closing.items()}
    assert served == [200, 200, 200]
    assert closed == dict.fromkeys(slow, True)

    # oversize headers, a 57-certificate chain
    assert fetch(url + "/public/", headers={"X-Big": "a" * 9000}).status == 431
    assert fetch(url + "/public/", headers={f"X-{i}": "b" for i in range(120)}).status == 400
    ca = pki.root("CN=Long Root")
    for depth in range(55):
        ca = ca.intermediate(f"CN=Long {depth}")
    long = ClientIdentity(*_leaf_and_chain(ca.client("CN=long,OU=Finance,O=Contoso")))
    assert len(long.chain) + 1 == 57  # the leaf, 55 intermediates, the root
    assert fetch(url + "/orders/x", long).status == 403

    # many clients at once (200 standalone, 30 through an upstream: issue 12 used 1,000, which
    # costs minutes of CPU in CI for no other finding)
    count = 200 if target.kind == "standalone" else 30
    assert _concurrent(url, alice, count) == [200] * count
    assert fetch(url + "/orders/x", alice).status == 200
    grown = _rss_kib(target.pid) - rss_before
    assert grown < 64 * 1024, f"the gate grew by {grown} KiB"

    # what the upstream saw: the gate's identity headers only, never the smuggled request
    seen = target.seen()
    if target.kind != "standalone":
        assert [t for _, t, _ in seen if "admin-only" in t] == []
        for method, path, headers in seen:
            identity_ = headers.get("certgate-identity")
            assert identity_ in (None, "CONTOSO\\finance"), (method, path, headers)
            if path.startswith("/public"):
                assert identity_ is None and headers.get("certgate-client-verify") == "NONE"
            assert not ("content-length" in headers and "transfer-encoding" in headers)
        assert sum(1 for _, t, _ in seen if t == "/orders/x") == 3 + count + 3
        posts = [h for m, t, h in seen if (m, t) in (("POST", "/orders/x"), ("POST", "/public/s"))]
        assert {h.get("content-length") or h.get("transfer-encoding") for h in posts[:2]} == {
            "5000",
            "chunked",
        }
        (spoofed,) = [h for _, t, h in seen if t == "/public/h"]
        assert spoofed.get("x-forwarded-for") == "127.0.0.1"
        assert "certgate-identity" not in spoofed


def _leaf_and_chain(issued: Issued) -> tuple[Any, Any, tuple[Any, ...]]:
    return issued.x509, issued.key, tuple(c.x509 for c in issued.chain(include_root=True)[1:])


@contextmanager
def _dripping_upstream(stall_after: int) -> Iterator[str]:
    """Answers every request with a 10-byte body, one byte every 0.1 s; after
    ``stall_after`` bytes it falls silent (the connection stays open)."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
            for index in range(10):
                if stop.is_set() or index >= stall_after:
                    stop.wait(5)
                    return
                conn.sendall(b"x")
                time.sleep(0.1)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_dripping_upstream_is_relayed_and_a_stalled_one_is_cut(
    impatient: GateConfig, now: datetime, alice: ClientIdentity
) -> None:
    cfg = impatient
    request = b"GET /public/d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    with _dripping_upstream(stall_after=10) as slow, gate(cfg, now, UpstreamProxy(slow)) as running:
        whole = raw_exchange(running.url, request)
    assert statuses(whole) == [200] and whole.endswith(b"\r\n\r\n" + b"x" * 10)
    with _dripping_upstream(stall_after=4) as stalled, gate(cfg, now, UpstreamProxy(stalled)) as g:
        cut = raw_exchange(g.url, request)  # upstream_idle_timeout = 1.5 s
        assert fetch(g.url + "/orders").status == 403  # the gate keeps serving
    assert statuses(cut) == [200] and cut.endswith(b"\r\n\r\nxxxx")  # cut, never completed


def test_a_large_chunked_upload_streams_through(
    pkix: dict[str, Issued], tmp_path: Path, now: datetime, alice: ClientIdentity
) -> None:
    patient = {**POLICY, "limits": {"upstream_header_timeout": 20, "upstream_idle_timeout": 20}}
    cfg = config(patient, tmp_path, machine([pkix["root"]], [pkix["issuing"]]))
    body = bytes(range(256)) * 8192  # 2 MiB

    def send(connection: Any) -> None:
        head = b"PUT /orders/blob HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
        connection.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
        for start in range(0, len(body), 65536):
            piece = body[start : start + 65536]
            connection.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        connection.sendall(b"0\r\n\r\n")

    with recording_upstream() as upstream, gate(cfg, now, UpstreamProxy(upstream.url)) as running:
        assert statuses(raw_exchange(running.url, send, alice, timeout=30)) == [200]
    (seen,) = upstream.requests
    assert seen.body == body
    assert seen.values("transfer-encoding") == ["chunked"] and seen.values("content-length") == []


def test_upstream_connections_are_reused(
    proxied: tuple[RunningGate, RecordingUpstream], alice: ClientIdentity
) -> None:
    running, upstream = proxied
    for index in range(6):
        assert (
            fetch(running.url + f"/orders/{index}", alice, method="POST", body=b"x").status == 200
        )
    assert len(upstream.requests) == 6
    assert upstream.connections < 6  # HTTP/1.1 keep-alive to the upstream (pool: 2 s)


def test_refusals_are_logged(pkix: dict[str, Issued], tmp_path: Path, now: datetime) -> None:
    logged = {**POLICY, "logs": {"w3c_dir": str(tmp_path / "logs")}}
    cfg = config(logged, tmp_path, machine([pkix["root"]], [pkix["issuing"]]))
    with gate(cfg, now) as running:
        ambiguous = b"GET /public/..;/orders HTTP/1.1\r\nHost: h\r\nUser-Agent: probe\r\n\r\n"
        assert statuses(raw_exchange(running.url, ambiguous)) == [400]
        assert statuses(raw_exchange(running.url, SHAPES["cl-te"])) == [400]  # Twisted's 400
    (log,) = (tmp_path / "logs").glob("u_ex*.log")
    lines = [line for line in log.read_text().splitlines() if not line.startswith("#")]
    assert len(lines) == 2
    assert " GET /public/..;/orders " in lines[0] and " probe " in lines[0]
    assert " 400 0 0 " in lines[0] and " 400 0 0 " in lines[1]


# -- every framing shape of llhttp's layer, one expected outcome each ----------------------
# (review of gate/http1.py: docs/gate-security.md "HTTP/1.x framing"). Each case targets its
# own /public/<name> path, and after it comes SMUGGLED_NEXT: a well-framed request for
# /orders/admin-only with forged identity headers, which must either be read as the next
# request (and denied: no certificate) or never read at all, and never reach the upstream.
SMUGGLED_NEXT = (
    b"GET /orders/admin-only HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
    b"Certgate-Identity: CONTOSO\\administrator\r\nCertgate-Client-Verify: SUCCESS\r\n\r\n"
)


def _shape(
    name: str,
    *headers: bytes,
    body: bytes = b"",
    method: bytes = b"POST",
    version: bytes = b"HTTP/1.1",
    target: bytes | None = None,
    host: bool = True,
) -> bytes:
    line = method + b" " + (target or b"/public/" + name.encode()) + b" " + version + b"\r\n"
    head = line + (b"Host: h\r\n" if host else b"") + b"".join(h + b"\r\n" for h in headers)
    return head + b"\r\n" + body + SMUGGLED_NEXT


_TE = b"Transfer-Encoding: chunked"
_HELLO = b"5\r\nhello\r\n0\r\n\r\n"
# name: (bytes, the gate's answers, the body the upstream gets; None: not forwarded)
FRAMINGS: dict[str, tuple[bytes, list[int], bytes | None]] = {
    "cl-te": (_shape("cl-te", b"Content-Length: 5", _TE, body=_HELLO), [400], None),
    "te-cl": (_shape("te-cl", _TE, b"Content-Length: 5", body=_HELLO), [400], None),
    "cl-twice-same": (
        _shape("cl-twice-same", b"Content-Length: 5", b"Content-Length: 5", body=b"hello"),
        [400],
        None,
    ),
    "cl-twice-differ": (
        _shape("cl-twice-differ", b"Content-Length: 5", b"Content-Length: 0", body=b"hello"),
        [400],
        None,
    ),
    "cl-list": (_shape("cl-list", b"Content-Length: 5, 5", body=b"hello"), [400], None),
    "cl-plus": (_shape("cl-plus", b"Content-Length: +5", body=b"hello"), [400], None),
    "cl-hex": (_shape("cl-hex", b"Content-Length: 0x5", body=b"hello"), [400], None),
    "cl-empty": (_shape("cl-empty", b"Content-Length: ", body=b"hello"), [400], None),
    "cl-huge": (_shape("cl-huge", b"Content-Length: 99999999999999999999999"), [400], None),
    "cl-over-limit": (_shape("cl-over-limit", b"Content-Length: 10485761"), [413], None),
    "cl-ok": (_shape("cl-ok", b"Content-Length: 5", body=b"hello"), [200, 403], b"hello"),
    "get-with-body": (
        _shape("get-with-body", b"Content-Length: 5", body=b"hello", method=b"GET"),
        [200, 403],
        b"hello",
    ),
    "te-ok": (_shape("te-ok", _TE, body=_HELLO), [200, 403], b"hello"),
    "te-upper": (
        _shape("te-upper", b"TRANSFER-ENCODING: CHUNKED", body=_HELLO),
        [200, 403],
        b"hello",
    ),
    "te-tab": (_shape("te-tab", b"Transfer-Encoding:\tchunked", body=_HELLO), [200, 403], b"hello"),
    "te-twice": (_shape("te-twice", _TE, _TE, body=_HELLO), [400], None),
    "te-chunked-identity": (
        _shape("te-chunked-identity", b"Transfer-Encoding: chunked, identity", body=_HELLO),
        [400],
        None,
    ),
    "te-gzip-chunked": (
        _shape("te-gzip-chunked", b"Transfer-Encoding: gzip, chunked", body=_HELLO),
        [400],
        None,
    ),
    "te-gzip": (_shape("te-gzip", b"Transfer-Encoding: gzip", body=b"hello"), [400], None),
    "te-empty": (_shape("te-empty", b"Transfer-Encoding: ", body=_HELLO), [400], None),
    "te-vtab": (_shape("te-vtab", b"Transfer-Encoding: chunked\x0b", body=_HELLO), [400], None),
    "te-http10": (_shape("te-http10", _TE, body=_HELLO, version=b"HTTP/1.0"), [400], None),
    "te-space-before-colon": (
        _shape("te-space-before-colon", b"Transfer-Encoding : chunked", body=_HELLO),
        [400],
        None,
    ),
    "obs-fold": (
        _shape("obs-fold", b"X-A: b", b" Transfer-Encoding: chunked", body=_HELLO),
        [400],
        None,
    ),
    "bare-lf": (b"GET /public/bare-lf HTTP/1.1\nHost: h\n\n" + SMUGGLED_NEXT, [400], None),
    "bare-cr": (b"GET /public/bare-cr HTTP/1.1\rHost: h\r\n\r\n" + SMUGGLED_NEXT, [400], None),
    "chunk-bare-lf": (_shape("chunk-bare-lf", _TE, body=b"5\nhello\n0\n\n"), [400], None),
    "chunk-ext": (
        _shape("chunk-ext", _TE, body=b"5;a=b\r\nhello\r\n0\r\n\r\n"),
        [200, 403],
        b"hello",
    ),
    "chunk-ext-crlf": (
        _shape("chunk-ext-crlf", _TE, body=b'5;a="x\r\ny"\r\nhello\r\n0\r\n\r\n'),
        [400],
        None,
    ),
    "chunk-size-space": (
        _shape("chunk-size-space", _TE, body=b"5 \r\nhello\r\n0\r\n\r\n"),
        [400],
        None,
    ),
    "chunk-size-0x": (_shape("chunk-size-0x", _TE, body=b"0x5\r\nhello\r\n0\r\n\r\n"), [400], None),
    "chunk-overflow": (_shape("chunk-overflow", _TE, body=b"fffffffffffffffff1\r\n"), [400], None),
    "trailer": (
        _shape(
            "trailer",
            _TE,
            body=b"5\r\nhello\r\n0\r\nCertgate-Identity: admin\r\nHost: evil\r\n\r\n",
        ),
        [200, 403],
        b"hello",
    ),
    "trailer-cl": (_shape("trailer-cl", _TE, body=b"0\r\nContent-Length: 5\r\n\r\n"), [400], None),
    "nul-in-value": (_shape("nul-in-value", b"X-A: a\x00b"), [400], None),
    "ctl-in-value": (_shape("ctl-in-value", b"X-A: a\x01b"), [400], None),
    "del-in-value": (_shape("del-in-value", b"X-A: a\x7fb"), [400], None),
    "obs-text-in-value": (_shape("obs-text-in-value", b"X-A: caf\xe9"), [200, 403], b""),
    "http09": (b"GET /public/http09\r\n" + SMUGGLED_NEXT, [400], None),
    "http2-preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + SMUGGLED_NEXT, [400], None),
    "http2-version": (_shape("http2-version", version=b"HTTP/2.0"), [400], None),
    "http12": (_shape("http12", version=b"HTTP/1.2"), [400], None),
    "lower-method": (_shape("lower-method", method=b"get"), [400], None),
    "connect": (b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n" + SMUGGLED_NEXT, [405], None),
    "connect-with-body": (
        b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\nContent-Length: 5\r\n\r\nhello" + SMUGGLED_NEXT,
        [400],
        None,
    ),
    "upgrade": (
        _shape("upgrade", b"Connection: upgrade", b"Upgrade: websocket", method=b"GET"),
        [200],  # answered as a plain request, then closed: what follows is never read
        b"",
    ),
    "upgrade-with-body": (
        _shape(
            "upgrade-with-body",
            b"Connection: upgrade",
            b"Upgrade: x",
            b"Content-Length: 5",
            body=b"hello",
        ),
        [400],
        None,
    ),
    "expect-continue": (
        _shape("expect-continue", b"Expect: 100-continue", b"Content-Length: 5", body=b"hello"),
        [100, 200, 403],
        b"hello",
    ),
    "absolute-form": (
        _shape("absolute-form", method=b"GET", target=b"http://h/public/absolute-form"),
        [400],
        None,
    ),
    "asterisk-form": (_shape("asterisk-form", method=b"OPTIONS", target=b"*"), [400], None),
    "two-hosts": (_shape("two-hosts", b"host: other"), [400], None),
    "no-host": (_shape("no-host", host=False), [400], None),
    "no-host-http10": (_shape("no-host-http10", host=False, version=b"HTTP/1.0"), [200], b""),
    "bad-host": (
        _shape("bad-host", b"X: y", host=False).replace(b"X: y", b"Host: a/b"),
        [400],
        None,
    ),
    "long-target": (_shape("long-target", target=b"/public/" + b"a" * 17000), [431], None),
    "long-header": (_shape("long-header", b"X-Big: " + b"a" * 17000), [431], None),
    "many-headers": (_shape("many-headers", *(b"X-%d: v" % i for i in range(101))), [400], None),
    "leading-crlf": (b"\r\n" + _shape("leading-crlf", method=b"GET"), [200, 403], b""),
    "after-a-denial": (
        b"GET /orders/x HTTP/1.1\r\nHost: h\r\n\r\n" + _shape("after-a-denial", method=b"GET"),
        [403, 200, 403],
        b"",
    ),
    "after-an-error": (
        b"GET /public/x HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n"
        + _shape("after-an-error", method=b"GET"),
        [400],
        None,
    ),
}


def test_every_framing_has_one_meaning(proxied: tuple[RunningGate, RecordingUpstream]) -> None:
    """Each shape is refused (400/405/413/431, the connection closed, nothing forwarded) or
    served with one meaning: the upstream sees exactly that request, once, with one framing,
    the gate's identity headers only, and never the request that follows it."""
    import concurrent.futures

    running, upstream = proxied

    def exchange(data: bytes) -> list[int]:
        return statuses(raw_exchange(running.url, data, timeout=10))

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = dict(
            zip(FRAMINGS, pool.map(exchange, [v[0] for v in FRAMINGS.values()]), strict=True)
        )
    assert {n: a for n, a in answers.items() if a != FRAMINGS[n][1]} == {}
    seen = {r.target: r for r in upstream.requests}
    assert len(seen) == len(upstream.requests)  # no target came twice
    assert [t for t in seen if "admin-only" in t] == []
    for name, (_, _, body) in FRAMINGS.items():
        request = seen.get(f"/public/{name}")
        if body is None:
            assert request is None, name
            continue
        assert request is not None and request.body == body, name
        framing = request.values("content-length") + request.values("transfer-encoding")
        assert len(framing) == 1 if body else len(framing) <= 1, (name, framing)
        assert request.values("certgate-identity") == [], name
        assert request.values("certgate-client-verify") == ["NONE"], name
        assert request.values("host") == [upstream.url.split("//")[1].rstrip("/")], name
        for hop in ("upgrade", "expect", "trailer", "te"):
            assert request.values(hop) == [], (name, hop)


def test_pipelines_of_two_clients_keep_their_own_identity(
    proxied: tuple[RunningGate, RecordingUpstream], alice: ClientIdentity
) -> None:
    """Alice and an anonymous client pipeline requests at once: every answer and every
    forwarded request carries its own connection's verdict, never the other's."""
    import concurrent.futures

    running, upstream = proxied

    def pipeline(tag: str) -> bytes:
        requests = b"".join(
            b"GET /orders/%s-%d HTTP/1.1\r\nHost: h\r\n\r\n" % (tag.encode(), i) for i in range(5)
        )
        return (
            requests
            + b"GET /orders/%s-end HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" % tag.encode()
        )

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        runs = [
            pool.submit(
                raw_exchange, running.url, pipeline(f"{who}{n}"), alice if who == "a" else None
            )
            for n in range(2)
            for who in ("a", "n")
        ]
        answers = [statuses(run.result()) for run in runs]
    assert answers == [[200] * 6, [403] * 6] * 2
    assert len(upstream.requests) == 12
    for request in upstream.requests:
        assert request.target.startswith("/orders/a"), request.target
        assert request.values("certgate-identity") == ["CONTOSO\\finance"]


def test_a_request_cut_at_eof_never_reaches_the_upstream_whole(
    proxied: tuple[RunningGate, RecordingUpstream],
) -> None:
    """A client that closes halfway through its body (after the gate began streaming it to the
    upstream): the upstream connection is cut, so it never sees a whole request."""
    running, upstream = proxied
    cuts = {
        "/public/cut-length": b"Content-Length: 10\r\n\r\nabc",
        "/public/cut-chunked": b"Transfer-Encoding: chunked\r\n\r\n5\r\nhel",
        "/public/cut-head": b"X-A: b\r\n",
    }
    for path, rest in cuts.items():

        def send(connection: Any, path: str = path, rest: bytes = rest) -> None:
            connection.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: h\r\n" + rest)
            time.sleep(0.3)  # the gate starts the upstream request (the usual case)
            connection.shutdown()

        assert statuses(raw_exchange(running.url, send)) == []
    assert fetch(running.url + "/public/after").status == 200  # the gate keeps serving
    time.sleep(0.3)
    assert [r.target for r in upstream.requests] == ["/public/after"]


def test_renegotiation_cannot_change_a_connections_chain(
    proxied: tuple[RunningGate, RecordingUpstream], alice: ClientIdentity
) -> None:
    """The verdict is kept on the connection because its chain cannot change: a TLS 1.2
    client asking to renegotiate (to present another certificate, or none) is refused, and
    nothing it sends afterwards is served under another identity."""
    import socket as socket_
    import struct

    from OpenSSL import SSL

    from certgate.gate.client import client_context

    running, upstream = proxied
    raw = socket_.create_connection(("127.0.0.1", running.port), timeout=10)
    raw.settimeout(None)
    raw.setsockopt(socket_.SOL_SOCKET, socket_.SO_RCVTIMEO, struct.pack("ll", 10, 0))
    connection = SSL.Connection(client_context(alice, "1.2"), raw)
    connection.set_connect_state()
    answers = b""
    try:
        connection.do_handshake()
        connection.sendall(b"GET /orders/before HTTP/1.1\r\nHost: h\r\n\r\n")
        answers += connection.recv(65536)
        assert connection.renegotiate()
        with pytest.raises(SSL.Error):
            connection.do_handshake()
            connection.sendall(b"GET /orders/after HTTP/1.1\r\nHost: h\r\n\r\n")
            while True:  # the gate's alert ends the connection
                answers += connection.recv(65536)
    finally:
        raw.close()
    assert statuses(answers) == [200]
    assert [r.target for r in upstream.requests] == ["/orders/before"]
