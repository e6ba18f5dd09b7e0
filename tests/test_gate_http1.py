"""The HTTP/1.x layer the gate and ``certgate authz`` share (``gate.http1``), in process over a
string transport: framing, persistence, pipelining, limits, and ``authz``'s wire answers
(a repeated certificate or URI header is refused, never joined)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.testing import StringTransport

from certgate.core.gate.authz import HeaderFormat
from certgate.core.gate.policy import ClientCertMode, Location, Policy
from certgate.gate.authz import AuthzConnection, AuthzService
from certgate.gate.http1 import HttpConnection, HttpRequest, WireLimits
from certgate.testing import PKI
from gate_support import machine


class Echo(HttpConnection):
    """Answers each request with its method, target and body length."""

    limits = WireLimits(max_header_bytes=1024, max_headers=10, max_body_bytes=100)

    def started(self, request: HttpRequest) -> None:
        self.seen: list[bytes] = getattr(self, "seen", [])
        self.seen.append(request.method + b" " + request.uri)

    def body(self, request: HttpRequest, data: bytes) -> None:
        request.body_bytes += len(data)

    def ended(self, request: HttpRequest) -> None:
        text = b"%s %s %d" % (request.method, request.uri, request.body_bytes)
        request.respond(200, ((b"Content-Type", b"text/plain"),), text)


def run(data: bytes | list[bytes], connection: HttpConnection | None = None) -> tuple[bytes, bool]:
    """What the connection answers to ``data`` (fed in pieces when a list), and whether it
    closed (or is closing) the connection."""
    protocol = connection or Echo()
    transport: Any = StringTransport()  # type: ignore[no-untyped-call]
    protocol.makeConnection(transport)  # type: ignore[no-untyped-call]
    for piece in [data] if isinstance(data, bytes) else data:
        protocol.dataReceived(piece)
    return transport.value(), transport.disconnecting or protocol.rejected


def statuses(answer: bytes) -> list[int]:
    return [int(s) for s in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]


GET = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"


def test_keep_alive_and_pipelining_in_order() -> None:
    answer, closed = run(GET + b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz" + GET)
    assert statuses(answer) == [200, 200, 200] and not closed
    bodies = re.findall(rb"\r\n\r\n([^\r\n]*?)(?=HTTP/1\.1|$)", answer)
    assert bodies == [b"GET /a 0", b"POST /b 3", b"GET /a 0"]
    answer, closed = run(b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" + GET)
    assert statuses(answer) == [200] and b"Connection: close" in answer and closed


class Slow(Echo):
    """Answers nothing until told (an upstream that takes its time)."""

    def ended(self, request: HttpRequest) -> None:
        self.due: list[HttpRequest] = [*getattr(self, "due", []), request]


def test_pipelined_input_waits_paused_and_is_bounded() -> None:
    slow = Slow()
    answer, closed = run([GET, GET * 3], slow)
    assert answer == b"" and not closed and len(slow.waiting) == 3
    assert slow.transport is not None and slow.transport.producerState == "paused"
    Echo.ended(slow, slow.due[0])  # the first answer: the next request is started
    assert statuses(slow.transport.value()) == [200] and len(slow.waiting) == 2
    flood = Slow()
    answer, closed = run([GET, GET * 5000], flood)
    assert statuses(answer) == [400] and closed
    assert b"too much pipelined input" in answer


def test_http10_persists_only_when_asked() -> None:
    keep = b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    answer, closed = run(keep + keep)
    assert statuses(answer) == [200, 200] and answer.count(b"Connection: keep-alive") == 2
    assert not closed
    answer, closed = run(b"GET /a HTTP/1.0\r\n\r\n" + keep)
    assert statuses(answer) == [200] and closed


def test_framing_the_parser_refuses() -> None:
    for bad in (
        b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        b"POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET /a HTTP/1.1\nHost: h\n\n",
        b"GET /a HTTP/2.0\r\nHost: h\r\n\r\n",
        b"GET /a HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n\r\n",
    ):
        answer, closed = run(bad)
        assert statuses(answer) == [400] and closed, bad


def test_limits() -> None:
    assert statuses(run(b"GET /a HTTP/1.1\r\nX: " + b"a" * 2000 + b"\r\n\r\n")[0]) == [431]
    many = b"".join(b"X-%d: b\r\n" % i for i in range(11))
    assert statuses(run(b"GET /a HTTP/1.1\r\n" + many + b"\r\n")[0]) == [400]
    # a header arriving a piece at a time is measured before it is whole
    drip = [b"GET /a HTTP/1.1\r\nX: "] + [b"a" * 4096] * 8
    assert statuses(run(drip)[0]) == [431]


def test_an_upgrade_is_answered_then_the_connection_closes() -> None:
    upgrade = b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
    answer, closed = run(upgrade + GET)
    assert statuses(answer) == [200] and b"Connection: close" in answer and closed


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=40))
def test_any_input_is_answered_refused_or_waited_for(data: bytes, step: int) -> None:
    pieces = [data[i : i + step] for i in range(0, len(data), step)]
    answer, _ = run([GET[:10], *pieces])
    assert set(statuses(answer)) <= {200, 400, 431}


def authz(pki: PKI) -> tuple[AuthzService, str, str]:
    root = pki.root("CN=Wire Root")
    policy = Policy(
        engine="rfc5280",
        machine=machine([root]),
        locations=(Location("/"), Location("/public", ClientCertMode.IGNORE)),
    )
    alice = quote(root.client("CN=alice").pem.decode(), safe="")
    mallory = quote(pki.root("CN=Other").client("CN=mallory").pem.decode(), safe="")
    return AuthzService(policy, HeaderFormat.NGINX, clock=lambda: pki.now), alice, mallory


def ask(service: AuthzService, *headers: bytes, version: bytes = b"HTTP/1.1") -> bytes:
    connection = AuthzConnection()
    connection.service = service
    lines = b"".join(h + b"\r\n" for h in headers)
    request = b"GET /_authz " + version + b"\r\nHost: a\r\n" + lines
    return run(request + b"\r\n", connection)[0]


def test_authz_answers_on_the_wire(pki: PKI) -> None:
    service, alice, mallory = authz(pki)
    cert = b"X-SSL-Client-Cert: "
    allowed = ask(service, cert + alice.encode(), b"X-Original-URI: /orders")
    assert statuses(allowed) == [200] and b"Certgate-Client-Subject: CN=alice" in allowed
    assert statuses(ask(service, cert + mallory.encode(), b"X-Original-URI: /o")) == [403]
    assert statuses(ask(service, b"X-Original-URI: /public/x")) == [200]
    kept = ask(service, cert + alice.encode(), b"Connection: keep-alive", version=b"HTTP/1.0")
    assert statuses(kept) == [200] and b"Connection: keep-alive" in kept
    assert b"Content-Length: 0\r\n" in kept


def test_authz_refuses_a_repeated_certificate_or_uri_header(pki: PKI) -> None:
    """Joined with ", ", two certificate headers would read as one chain (a proxy that
    appended to a client's header instead of replacing it): refused with the reason."""
    service, alice, mallory = authz(pki)
    cert = b"X-SSL-Client-Cert: "
    twice = ask(service, cert + alice.encode(), cert + mallory.encode(), b"X-Original-URI: /o")
    assert statuses(twice) == [403]
    assert b"Certgate-Status: 403.16" in twice
    assert re.search(rb"Certgate-Reason: [^\r]*x-ssl-client-cert header came 2 times", twice)
    uris = ask(service, cert + alice.encode(), b"X-Original-URI: /public", b"X-Original-URI: /o")
    assert statuses(uris) == [403] and b"URI header came 2 times" in uris
