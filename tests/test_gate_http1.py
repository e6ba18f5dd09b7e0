"""The HTTP/1.x layer the gate and ``certgate authz`` share (``gate.http1``), in process over a
string transport: framing, persistence, pipelining, limits, and ``authz``'s wire answers
(a repeated certificate or URI header is refused, never joined)."""

from __future__ import annotations

import inspect
import re
from typing import Any
from urllib.parse import quote

import pytest
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
    assert answer == b"" and closed  # refused, after the answer under way (not inside it)
    assert flood.transport is not None
    Echo.ended(flood, flood.due[0])
    assert statuses(flood.transport.value()) == [200, 400]
    assert b"too much pipelined input" in flood.transport.value()


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


# -- review of the llhttp layer (attacks on framing, trailers, pipelines) ------------------


class Recorder(Echo):
    """``Echo`` that keeps each request's headers as they were when it was whole, and
    answers the first request only when told (``later``): what follows it is pipelined."""

    def __init__(self, hold_first: bool = False, stream_first: bool = False) -> None:
        super().__init__()
        self.whole: list[list[tuple[bytes, bytes]]] = []
        self.depths: list[int] = []
        self.first: HttpRequest | None = None
        self.hold_first = hold_first
        self.stream_first = stream_first

    def ended(self, request: HttpRequest) -> None:
        self.whole.append(list(request.headers))
        self.depths.append(len(inspect.stack(0)))
        if self.first is None and (self.hold_first or self.stream_first):
            self.first = request
            if self.stream_first:  # an answer under way: its head and half its body
                request.setResponseCode(200)
                request.setHeader(b"content-length", b"10")
                request.write(b"abcde")
            return
        super().ended(request)


CHUNKED = b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_trailer_fields_never_become_request_headers() -> None:
    """A trailer comes after the head was judged and forwarded: were it appended to the
    headers, a second Host or a certificate header would reach authz or a WSGI app."""
    recorder = Recorder()
    trailer = b"0\r\nHost: evil\r\nX-SSL-Client-Cert: forged\r\nCertgate-Identity: x\r\n\r\n"
    answer, closed = run(CHUNKED + b"3\r\nabc\r\n" + trailer + GET, recorder)
    assert statuses(answer) == [200, 200] and not closed
    assert recorder.whole[0] == [(b"host", b"h"), (b"transfer-encoding", b"chunked")]
    # trailer fields count against the header limits all the same
    many = b"0\r\n" + b"".join(b"T-%d: v\r\n" % i for i in range(12)) + b"\r\n"
    assert statuses(run(CHUNKED + many)[0]) == [400]


def test_authz_ignores_a_certificate_in_a_trailer(pki: PKI) -> None:
    service, alice, _ = authz(pki)
    connection = AuthzConnection()
    connection.service = service
    request = (
        b"POST /_authz HTTP/1.1\r\nHost: a\r\nX-Original-URI: /orders\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\nX-SSL-Client-Cert: " + alice.encode() + b"\r\n\r\n"
    )
    answer = run(request, connection)[0]
    assert statuses(answer) == [403] and b"CN=alice" not in answer


@pytest.mark.parametrize(
    "flood",
    [
        [CHUNKED + b"0\r\nX-T: "] + [b"a" * 8192] * 64,  # one trailer field without end
        [CHUNKED + b"1;ext="] + [b"a" * 8192] * 64,  # a chunk extension without end
        [GET] + [b"\r\n" * 4096] * 16,  # blank lines between requests
        [b"GET /a HTTP/1.1\r\nX: "] + [b"a" * 8192] * 64,  # one header field without end
    ],
    ids=["trailer", "chunk-extension", "blank-lines", "header"],
)
def test_input_that_makes_no_progress_is_bounded(flood: list[bytes]) -> None:
    """httptools gathers a field until it is whole and llhttp skips extensions and blank
    lines: none of these may grow the gate or keep a connection busy without end."""
    recorder = Recorder()
    answer, closed = run(flood, recorder)
    assert closed and statuses(answer)[-1] in (400, 431)


def test_an_upgrade_or_connect_with_a_body_is_refused() -> None:
    for head in (
        b"POST /a HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n",
        b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n",
    ):
        for framing in (b"Content-Length: 5\r\n\r\nhello", b"Transfer-Encoding: chunked\r\n\r\n"):
            recorder = Recorder()
            answer, closed = run(head + framing + GET, recorder)
            assert statuses(answer) == [400] and closed and recorder.whole == [], head + framing


def test_a_pipeline_answered_at_once_is_a_loop_not_recursion() -> None:
    """Requests waiting behind a slow answer, each then answered at once (a denial): the
    stack must not grow with their number (RecursionError past ~150 of them)."""
    recorder = Recorder(hold_first=True)
    transport: Any = StringTransport()  # type: ignore[no-untyped-call]
    recorder.makeConnection(transport)  # type: ignore[no-untyped-call]
    recorder.dataReceived(GET * 40)
    assert recorder.first is not None and len(recorder.waiting) == 39
    recorder.first.respond(200, (), b"first")
    assert statuses(transport.value()) == [200] * 40 and not recorder.waiting
    assert max(recorder.depths[1:]) - min(recorder.depths[1:]) <= 2


def test_a_refusal_waits_for_the_answer_under_way() -> None:
    """Bad input while the request before it is being answered (perhaps forwarded
    already): written at once, the 400 would land inside the first answer's body, and the
    client would take the forwarded request as refused. The first answer is finished, then
    the 400 follows and the connection closes."""
    recorder = Recorder(stream_first=True)
    transport: Any = StringTransport()  # type: ignore[no-untyped-call]
    recorder.makeConnection(transport)  # type: ignore[no-untyped-call]
    recorder.dataReceived(GET)
    recorder.dataReceived(b"GARBAGE\r\n\r\n" + GET)
    assert transport.value().endswith(b"\r\n\r\nabcde") and not transport.disconnecting
    assert recorder.first is not None
    recorder.first.write(b"fghij")
    recorder.first.finish()
    assert _responses(transport.value()) == [200, 400] and recorder.rejected
    assert b"abcdefghijHTTP/1.1 400 " in transport.value()
    # nothing after a request that closes the connection is read, bad or not
    answer, closed = run(b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGARBAGE")
    assert _responses(answer) == [200] and closed


def _responses(stream: bytes) -> list[int]:
    """Split the connection's output into whole responses by their own framing: fails if
    any answer is cut or anything is left over (one answer written into another)."""
    codes = []
    while stream:
        head, sep, rest = stream.partition(b"\r\n\r\n")
        found = re.match(rb"HTTP/1\.1 (\d{3}) [^\r\n]*\r\n", head)
        assert sep and found, stream[:200]
        length = re.search(rb"\r\nContent-Length: (\d+)", head + b"\r\n")
        size = int(length.group(1)) if length else 0
        assert len(rest) >= size, stream[:200]
        codes.append(int(found.group(1)))
        stream = rest[size:]
    return codes


_PIECES = [
    GET,
    b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
    CHUNKED + b"3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
    b"GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
    b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n",
    b"GET /a HTTP/1.1\r\nX: a\x00\r\n\r\n",
    b"GET /a HTTP/1.1\nHost: h\n\n",
    b"\r\n",
    b"0\r\n\r\n",
]


@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES) | st.binary(max_size=20), max_size=8),
    st.integers(min_value=1, max_value=64),
    st.booleans(),
)
def test_any_pipeline_is_answered_in_order_and_never_ambiguous(
    parts: list[bytes], step: int, hold_first: bool
) -> None:
    """Random pipelines of good, ambiguous and random requests, fed in random pieces, some
    answered later: no exception, answers whole and in order, no answer inside another,
    and no request whose framing is ambiguous reaches the handler."""
    data = b"".join(parts)
    recorder = Recorder(hold_first=hold_first)
    transport: Any = StringTransport()  # type: ignore[no-untyped-call]
    recorder.makeConnection(transport)  # type: ignore[no-untyped-call]
    for i in range(0, len(data), step):
        recorder.dataReceived(data[i : i + step])  # an exception here fails the test
    if recorder.first is not None and not recorder.first.finished:
        recorder.first.respond(200, (), b"late")
    codes = _responses(transport.value())
    assert set(codes) <= {200, 400, 431} and codes[: codes.count(200)] == [200] * codes.count(200)
    for headers in recorder.whole:
        names = [name for name, _ in headers]
        encodings = [value.lower() for name, value in headers if name == b"transfer-encoding"]
        assert names.count(b"content-length") <= 1
        assert not (encodings and b"content-length" in names)
        assert encodings in ([], [b"chunked"])
