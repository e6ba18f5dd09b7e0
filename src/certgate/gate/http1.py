"""HTTP/1.x connections for the gate and ``certgate authz``: llhttp frames, the server decides.

The request side is parsed by llhttp (``httptools``, the parser uvicorn runs), in its strict
mode: a request it cannot frame unambiguously (Content-Length with Transfer-Encoding, two
lengths, a length or chunk size that is not digits, bare LF line ends, obsolete line folding,
a space before a colon, control characters) is a parser error, answered 400 and the
connection closed after a short lingering read. The server's own rules come on top: only
HTTP/1.0 and 1.1, one ``Transfer-Encoding: chunked`` and nothing else, the header block, the
header count and the body capped (``WireLimits``), one request at a time (a pipelined request
waits, its input held and the socket paused, until the answer before it is written). Trailer
fields are counted against the header limits and dropped, never added to the request's
headers (which were judged before they came); input that starts no message and brings no body
byte (a field without end, chunk extensions, blank lines) is bounded; an Upgrade or CONNECT
request with a body is refused (llhttp would skip the body); a refusal that comes while an
answer is half written cuts the connection rather than write an answer inside another.

The answer side is written here too: a whole answer is one ``write`` (status line, headers,
framing, ``Date``, body); a streamed one (the upstream's relay, a WSGI app) is framed by its
``Content-Length``, else chunked (HTTP/1.1), else closed at its end (HTTP/1.0). Persistence:
HTTP/1.1 unless ``Connection: close``; HTTP/1.0 only with ``Connection: keep-alive`` and a
framed answer, which then says ``Connection: keep-alive`` (RFC 9112 §9.3, §C.2.2).

``HttpRequest`` also offers the part of ``twisted.web``'s ``Request`` interface that
``twisted.web.wsgi`` and the upstream relay use (``setResponseCode``, ``responseHeaders``,
``write``, ``finish``, ``notifyFinish``, ``registerProducer``...), so those keep working on it.
"""

from __future__ import annotations

import io
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

import httptools
from twisted.internet import defer, protocol, tcp
from twisted.internet.protocol import connectionDone
from twisted.python import failure
from twisted.web.http_headers import Headers

from certgate.gate._twisted import reactor

__all__ = ["HttpConnection", "HttpRequest", "WireLimits", "refusal_response", "send_now"]

_LINGER = 0.5  # seconds a refused connection is drained before it is closed
_HEAD_SLACK = 16384  # the header block is measured exactly when whole; meanwhile, one record
_HELD_MAX = 65536  # pipelined input held beyond one header block: one read's worth
_PIPELINE_MAX = 64  # pipelined requests waiting for the answers before them
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
_NO_BODY = frozenset({204, 304})
_VERSIONS = {"1.1": b"HTTP/1.1", "1.0": b"HTTP/1.0"}
_TCP = (tcp.Server, tcp.Client)


@dataclass(frozen=True)
class WireLimits:
    max_header_bytes: int = 16384
    max_headers: int = 100
    max_body_bytes: int = 10 << 20


class _Stop(Exception):
    """Raised in a parser callback: parse nothing more of this connection."""


_dates: list[Any] = [0, b""]


def http_date() -> bytes:
    """``Date:`` (RFC 9110 §6.6.1), formatted once a second."""
    now = int(time.time())
    if now != _dates[0]:
        _dates[0], _dates[1] = now, formatdate(now, usegmt=True).encode()
    value: bytes = _dates[1]
    return value


def send_now(transport: Any, data: bytes) -> None:
    """``transport.write(data)``, sent at once when nothing is queued before it: Twisted's TCP
    write waits for the next reactor turn and registers the socket for writing and then
    unregisters it (two ``epoll_ctl`` and one more ``epoll_wait`` per answer). Whatever the
    socket does not take, and any error, is left to ``write`` as before. Only for Twisted's own
    TCP connection (a TLS wrapper passes its attributes through to the socket below it)."""
    if (
        type(transport) in _TCP  # the socket itself: never a wrapper (TLS) that delegates
        and transport.connected
        and not transport.disconnecting
        and not transport.dataBuffer
        and not transport._tempDataBuffer
    ):
        sent = transport.writeSomeData(data)
        if isinstance(sent, int):
            if sent >= len(data):
                return
            data = data[sent:]
    transport.write(data)


def refusal_response(status: int, reason: str) -> bytes:
    """A plain-text answer that closes the connection."""
    phrase = _REASONS.get(status, b"Error")
    body = f"{status} {phrase.decode()}: {reason}\n".encode()
    return (
        b"HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: %d\r\n\r\n" % (status, phrase, len(body))
    ) + body


class HttpRequest:
    """One request: what the client sent, and its answer (whole, or streamed)."""

    defaultContentType: bytes | None = b"text/html"

    def __init__(
        self,
        channel: HttpConnection,
        method: bytes,
        uri: bytes,
        version: bytes,
        headers: list[tuple[bytes, bytes]],
        length: int | None,
        persistent: bool,
    ) -> None:
        self.channel = channel
        self.method = method
        self.uri = uri
        self.clientproto = version
        self.headers = headers  # (lower-case name, value), in order, repeats kept
        self.length = length  # body: Content-Length; None: chunked
        self.persistent = persistent
        self.started_at = reactor.seconds()
        self.body_bytes = 0
        self.complete = False  # the whole request (body included) is in
        self.held: list[bytes] | None = None  # body parsed while an earlier answer was due
        self.content: io.BytesIO | None = None  # the body, when the handler keeps it
        self.finished = False
        self.startedWriting = False
        self.code = 200
        self.code_message: bytes | None = None
        self.prepath: list[bytes] = []
        self.postpath: list[bytes] = []
        self._request_headers: Headers | None = None
        self._response_headers: Headers | None = None
        self._chunked = False
        self._bodiless = False
        self._waiters: list[defer.Deferred[None]] = []

    # -- what the client sent
    def header(self, name: bytes) -> bytes | None:
        """The first value of the header ``name`` (lower case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_values(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key == name]

    def getHeader(self, name: bytes) -> bytes | None:
        return self.header(name.lower())

    @property
    def path(self) -> bytes:
        return self.uri.partition(b"?")[0]

    @property
    def requestHeaders(self) -> Headers:
        if self._request_headers is None:
            built = Headers()
            for name, value in self.headers:
                built.addRawHeader(name, value)
            self._request_headers = built
        return self._request_headers

    def getClientAddress(self) -> Any:
        transport: Any = self.channel.transport
        return transport.getPeer() if transport is not None else None

    def getHost(self) -> Any:
        transport: Any = self.channel.transport
        return transport.getHost() if transport is not None else None

    def isSecure(self) -> bool:
        return self.channel.secure

    def getRequestHostname(self) -> bytes:
        host = self.header(b"host")
        if host:
            return host.rsplit(b":", 1)[0] if not host.endswith(b"]") else host
        return str(getattr(self.getHost(), "host", "")).encode()

    # -- the answer, whole
    def respond(
        self, status: int, headers: Iterable[tuple[bytes, bytes]] = (), body: bytes = b""
    ) -> None:
        """The whole answer in one write: status, ``headers``, framing, ``body``."""
        self.respond_raw(status, b"".join(b"%s: %s\r\n" % pair for pair in headers), body)

    def respond_raw(self, status: int, lines: bytes, body: bytes = b"") -> None:
        """``respond`` with the header lines already rendered (``Name: value\\r\\n`` each)."""
        if self.finished or self.startedWriting:
            return
        self.code = status
        self.startedWriting = True
        bodiless = self.method == b"HEAD" or status in _NO_BODY or status < 200
        length = (
            b"" if status in _NO_BODY or status < 200 else b"Content-Length: %d\r\n" % len(body)
        )
        self.channel.send(
            b"HTTP/1.1 %d %s\r\n%s%s%sDate: %s\r\n\r\n%s"
            % (
                status,
                _REASONS.get(status, b"Unknown"),
                lines,
                length,
                self._connection_line(),
                http_date(),
                b"" if bodiless else body,
            )
        )
        self._done()

    def _connection_line(self) -> bytes:
        if not self.persistent or self.channel.closing:
            self.persistent = False
            return b"Connection: close\r\n"
        if self.clientproto == b"HTTP/1.0":
            return b"Connection: keep-alive\r\n"
        return b""

    # -- the answer, streamed (twisted.web's Request interface)
    @property
    def responseHeaders(self) -> Headers:
        if self._response_headers is None:
            self._response_headers = Headers()
        return self._response_headers

    def setResponseCode(self, code: int, message: bytes | None = None) -> None:
        if not self.startedWriting:
            self.code, self.code_message = code, message

    def setHeader(self, name: bytes | str, value: bytes | str) -> None:
        self.responseHeaders.setRawHeaders(name, [value])

    def write(self, data: bytes) -> None:
        if self.finished:
            return
        if not self.startedWriting:
            self._write_head()
        if not data or self._bodiless:
            return
        if self._chunked:
            self.channel.send(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.channel.send(data)

    def _write_head(self) -> None:
        self.startedWriting = True
        status = self.code
        phrase = self.code_message or _REASONS.get(status, b"Unknown")
        self._bodiless = self.method == b"HEAD" or status in _NO_BODY or status < 200
        response = self.responseHeaders
        for name in (b"connection", b"keep-alive", b"transfer-encoding", b"date", b"server"):
            response.removeHeader(name)  # framing and persistence are this layer's
        framed = self._bodiless or response.hasHeader(b"content-length")
        if not framed and self.clientproto == b"HTTP/1.1":
            response.setRawHeaders(b"transfer-encoding", [b"chunked"])
            self._chunked = True
        elif not framed:
            self.persistent = False  # HTTP/1.0: the end of the answer is the connection's
        if (
            not self._bodiless
            and not response.hasHeader(b"content-type")
            and self.defaultContentType is not None
        ):
            response.setRawHeaders(b"content-type", [self.defaultContentType])
        head = [b"HTTP/1.1 %d %s\r\n" % (status, phrase)]
        for name, values in response.getAllRawHeaders():
            head += [b"%s: %s\r\n" % (name, value) for value in values]
        head.append(self._connection_line() + b"Date: " + http_date() + b"\r\n\r\n")
        self.channel.send(b"".join(head))

    def finish(self) -> None:
        if self.finished:
            return
        if not self.startedWriting:
            self._write_head()
        if self._chunked:
            self.channel.send(b"0\r\n\r\n")
        self._done()

    def _done(self) -> None:
        self.finished = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.callback(None)
        self.channel.answered(self)

    def notifyFinish(self) -> defer.Deferred[None]:
        """Fires when the answer is written; fails when the connection goes first."""
        waiter: defer.Deferred[None] = defer.Deferred()
        if self.finished:
            waiter.callback(None)
        else:
            self._waiters.append(waiter)
        return waiter

    def lost(self, reason: failure.Failure) -> None:
        """The connection went before the answer was written."""
        self.finished = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.errback(reason)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        transport = self.channel.transport
        if transport is not None:
            transport.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        transport = self.channel.transport
        if transport is not None:
            transport.unregisterProducer()

    def loseConnection(self) -> None:
        self.channel.abort()


class HttpConnection(protocol.Protocol):
    """One client connection. Subclasses handle requests: ``started`` (the headers are in),
    ``body`` (a piece of the body), ``ended`` (the whole request is in), ``finished`` (its
    answer is written)."""

    limits = WireLimits()
    secure = False
    request_class = HttpRequest

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.current: HttpRequest | None = None  # the request being answered
        self.waiting: deque[HttpRequest] = deque()  # pipelined requests, in order
        self.parsing: HttpRequest | None = None  # the request whose message is being read
        self.rejected = False  # refused with an error answer, lingering before the close
        self.stopped = False  # nothing more of the input is parsed
        self.last_read = False  # the last request was read (it closes): the rest is ignored
        self.closing = False  # the connection closes after the current answer
        self.head_started: float | None = None  # a request's first byte came (reactor time)
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0
        self._fields = 0  # header fields of the message being read, trailer fields included
        self._fed = 0  # bytes fed since the parser last made progress (a message, body bytes)
        self._progressed = False
        self._in_head = False
        self._advancing = False  # ``answered`` is starting the requests that waited
        self._refusal: bytes | None = None  # written once the answer under way is
        self._paused_for_pipeline = False
        self._held_bytes = 0  # input of pipelined requests kept for later
        self._linger_call: Any = None

    @property
    def url_so_far(self) -> bytes:
        """The target of the request being read (refusal logs)."""
        return self._url

    # -- input
    def dataReceived(self, data: bytes) -> None:
        if self.stopped or self.last_read:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._stop_reading()  # what follows is not HTTP: the answer closes the connection
            return
        except httptools.HttpParserError:
            if not (self.stopped or self.last_read):
                self.refuse(400, "the request could not be parsed (RFC 9112)")
            return
        # httptools gathers each header (and trailer) field until it is whole; llhttp skips
        # chunk extensions and blank lines between requests: input that starts no message
        # and brings no body byte is measured, so none of these grows or flows without end
        if self._progressed:
            self._progressed = False
            self._fed = 0
        elif not self.stopped:
            self._fed += len(data)
            if self._fed > self.limits.max_header_bytes + _HEAD_SLACK:
                if self._in_head:
                    self.reject(refusal_response(431, "a header field is too large"))
                else:
                    self.refuse(400, "too many bytes of chunk headers, trailers or blank lines")

    def _stop_reading(self) -> None:
        self.closing = True
        self.stopped = True  # nothing more is parsed; the current answer is still written
        transport: Any = self.transport
        if self.current is None and transport is not None:
            transport.loseConnection()

    # llhttp's callbacks (httptools)
    def on_message_begin(self) -> None:
        if self.stopped:
            raise _Stop
        self._url = b""
        self._headers = []
        self._head_bytes = 0
        self._fields = 0
        self._progressed = True
        self._in_head = True
        self.head_started = reactor.seconds()

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_bytes += len(url)
        if self._head_bytes > self.limits.max_header_bytes:
            self.reject(refusal_response(431, "the request target is too long"))
            raise _Stop

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value) + 4
        self._head_bytes += size
        if size > self.limits.max_header_bytes:  # one line: 431, as a line too long
            self.reject(refusal_response(431, "a header field is too large"))
            raise _Stop
        if self._head_bytes > self.limits.max_header_bytes:  # the block: 400
            self.refuse(400, f"the header block is over {self.limits.max_header_bytes} bytes")
            raise _Stop
        if self._fields >= self.limits.max_headers:
            self.refuse(400, f"more than {self.limits.max_headers} header fields")
            raise _Stop
        self._fields += 1
        if self._in_head:
            self._headers.append((name.lower(), value.strip(b" \t")))
        # else a trailer field (after a chunked body): counted, never one of the request's
        # headers, which were judged and forwarded before it came (a Host, identity or
        # certificate header in a trailer would otherwise reach ``authz`` or a WSGI app)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self.head_started = None
        parser = self.parser
        version = _VERSIONS.get(parser.get_http_version())
        if version is None:
            self.refuse(400, "only HTTP/1.0 and HTTP/1.1 are served")
            raise _Stop
        headers = self._headers
        length: int | None = 0
        tokens: set[bytes] = set()
        chunked = False
        for name, value in headers:
            if name == b"content-length":
                length = int(value)  # llhttp accepted it: digits, one value
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"connection":
                tokens.update(t.strip().lower() for t in value.split(b","))
        if chunked:
            encodings = [v.strip(b" \t").lower() for n, v in headers if n == b"transfer-encoding"]
            if version != b"HTTP/1.1" or encodings != [b"chunked"]:
                problem = (
                    "Transfer-Encoding is not allowed in HTTP/1.0 (RFC 9112 §6.1)"
                    if version != b"HTTP/1.1"
                    else "the only Transfer-Encoding accepted is one 'chunked'"
                )
                self.refuse(400, problem)
                raise _Stop
            length = None
        if parser.should_upgrade():
            if chunked or length:
                # llhttp (as httptools drives it) skips an upgrade's body and reads nothing
                # after its head: whether those bytes are a body or another protocol is moot
                self.refuse(400, "an Upgrade or CONNECT request with a body is ambiguous")
                raise _Stop
            persistent = False  # llhttp reads no more of it: what follows is not HTTP
        elif version == b"HTTP/1.1":
            persistent = b"close" not in tokens
        else:
            persistent = b"keep-alive" in tokens and b"close" not in tokens
        request = self.request_class(
            self, parser.get_method(), self._url, version, headers, length, persistent
        )
        self.parsing = request
        if self.current is None:
            self.current = request
            self.started(request)
            if self.stopped:
                raise _Stop
        else:
            request.held = []
            self.waiting.append(request)
            self._hold(self._head_bytes + 16)  # + the request line's and the end's own bytes
            if self.stopped:
                raise _Stop

    def on_body(self, data: bytes) -> None:
        self._progressed = True
        request = self.parsing
        if request is None:
            return
        if request is self.current:
            self.body(request, data)
            if self.stopped:
                raise _Stop
        elif request.held is not None:
            request.held.append(data)
            self._hold(len(data))
            if self.stopped:
                raise _Stop

    def on_message_complete(self) -> None:
        self._progressed = True
        request, self.parsing = self.parsing, None
        if request is None:
            return
        request.complete = True
        if request is self.current:
            self.ended(request)
        if not request.persistent:
            # nothing after a request that closes the connection is read (RFC 9112 §9.6):
            # llhttp would call it an error and refuse the requests before it
            self.last_read = True
            raise _Stop

    # -- the answer
    def send(self, data: bytes) -> None:
        transport: Any = self.transport
        if transport is not None:
            send_now(transport, data)

    def answered(self, request: HttpRequest) -> None:
        """``request``'s answer is written: the next request, or the end."""
        if request is not self.current:
            return
        self.current = None
        self.finished(request)
        if self._refusal is not None:  # bad input came after it: refused now, closed
            answer, self._refusal = self._refusal, None
            self._write_refusal(answer)
            return
        if not request.persistent or self.closing:
            self.closing = self.stopped = True
            self.loseConnection()
            return
        if self._advancing:
            return  # answered at once by the loop below, further up the stack: it goes on
        self._advancing = True
        try:  # a loop, not recursion: each waiting request may be answered before it returns
            while self.current is None and self.waiting and not (self.closing or self.rejected):
                following = self.waiting.popleft()
                self.current = following
                held, following.held = following.held or [], None
                self.started(following)
                for data in held:
                    if self.stopped or following.finished:
                        break
                    self.body(following, data)
                if following.complete and not self.stopped and not following.finished:
                    self.ended(following)
        finally:
            self._advancing = False
        if not self.waiting:
            self._held_bytes = 0
        if not self.waiting and self._paused_for_pipeline:
            self._paused_for_pipeline = False
            if self.transport is not None and not self.stopped:
                self.transport.resumeProducing()

    def _hold(self, size: int) -> None:
        """Input of a pipelined request, kept until the answers before it are written: the
        socket is paused (again: a streaming upstream may have resumed it), and more than
        ``_HELD_MAX`` bytes or ``_PIPELINE_MAX`` requests held is refused."""
        self._held_bytes += size
        too_many = len(self.waiting) > _PIPELINE_MAX
        if too_many or self._held_bytes > self.limits.max_header_bytes + _HELD_MAX:
            self.refuse(400, "too much pipelined input waiting for earlier answers")
            return
        if self.transport is not None:
            self._paused_for_pipeline = True
            self.transport.pauseProducing()

    # -- hooks
    def started(self, request: HttpRequest) -> None:
        """The request's headers are in."""

    def body(self, request: HttpRequest, data: bytes) -> None:
        """A piece of the request's body."""

    def ended(self, request: HttpRequest) -> None:
        """The whole request is in."""

    def finished(self, request: HttpRequest) -> None:
        """The request's answer is written."""

    # -- ending
    def refuse(self, status: int, reason: str) -> None:
        """A plain-text answer, then the connection is closed: nothing more is read from a
        client whose request could not be framed or understood unambiguously."""
        self.reject(refusal_response(status, reason))

    def reject(self, answer: bytes) -> None:
        """Answer, then keep discarding input briefly before closing (a lingering close):
        closing with unread input makes the kernel send RST, which can destroy the answer."""
        if self.rejected:
            return
        self.rejected = self.stopped = True
        current = self.current
        # a request that is whole and being answered (perhaps forwarded already) is not the
        # one refused: its answer is written first, then the refusal (never inside it)
        whole = current is not None and current.complete and not current.finished
        cut = current is not None and current.startedWriting and not current.finished
        for request in (*([] if whole else [current]), *self.waiting):
            if request is not None and not request.finished:
                request.finished = True
                self.dropped(request)
        self.waiting.clear()
        if whole:
            self._refusal = answer
            return
        transport: Any = self.transport
        if transport is None:
            return
        if cut:  # an answer is half written: another cannot follow it, and it cannot end
            transport.abortConnection()
            self.refused(int(answer.split(b" ", 2)[1]))
            return
        self._write_refusal(answer)

    def _write_refusal(self, answer: bytes) -> None:
        transport: Any = self.transport
        if transport is None:
            return
        if self._paused_for_pipeline:
            transport.resumeProducing()  # drained while lingering
        transport.write(answer)
        self._linger_call = reactor.callLater(_LINGER, self.loseConnection)
        self.refused(int(answer.split(b" ", 2)[1]))

    def dropped(self, request: HttpRequest) -> None:
        """A request that will get no answer of its own (the connection was refused)."""

    def refused(self, status: int) -> None:
        """The connection was refused with ``status``."""

    def loseConnection(self) -> None:
        transport: Any = self.transport
        if transport is not None:
            transport.loseConnection()

    def abort(self) -> None:
        transport: Any = self.transport
        if transport is not None:
            transport.abortConnection()

    def connectionLost(self, reason: failure.Failure = connectionDone) -> None:
        if self._linger_call is not None and self._linger_call.active():
            self._linger_call.cancel()
        for request in (self.current, *self.waiting):
            if request is not None and not request.finished:
                request.lost(reason)
        self.current = None
        self.waiting.clear()
        self.transport = None
