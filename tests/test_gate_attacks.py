"""The gate attacked as issue 12 describes, loopback only, every loop bounded.

Each case asserts that no bad client gets through (the upstream sees exactly what the gate
means to forward), that good clients keep being served, and that the gate's memory stays
bounded. The upstreams: an h11 recorder (uvicorn's parser, seeing raw bytes), real uvicorn and
real nginx (see ``test_gate_attacks_upstreams`` below).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
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
        "upstream_header_timeout": 0.6,
        "upstream_idle_timeout": 0.6,
        "idle_timeout": 2.0,
        "header_timeout": 0.5,
        "handshake_timeout": 0.5,
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
    cfg: GateConfig, now: datetime, alice: ClientIdentity
) -> None:
    import socket

    silent = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with gate(cfg, now, UpstreamProxy(url)) as running:
            started = time.monotonic()
            response = fetch(running.url + "/orders", alice)
            elapsed = time.monotonic() - started
            assert response.status == 504
            assert elapsed < 8  # the client is not held (the timeout is 0.6 s; no timing assert)
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
