"""The reverse proxy: each allowed request re-framed for an HTTP/1.1 upstream, streamed both
ways with backpressure, with connect, header and idle timeouts.

The upstream sees one framing only: Twisted's ``Agent`` writes ``Content-Length`` when the
client sent one and a single chunked encoding when the client's body was chunked; the client's
own framing, hop-by-hop headers (and those its ``Connection`` names), headers with ``_`` in
the name, and every identity or forwarding header are dropped first
(``core.gate.request``). Connections to the upstream are kept and reused (``HTTPConnectionPool``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from twisted.internet import defer, error, protocol
from twisted.python import failure
from twisted.web.client import Agent, HTTPConnectionPool, ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH, IBodyProducer, IResponse
from zope.interface import implementer

from certgate.core.gate.answers import identity_headers
from certgate.core.gate.decision import Decision
from certgate.core.gate.policy import Limits
from certgate.core.gate.request import (
    CONNECTION_HEADERS,
    client_header_kept,
    forwarded_headers,
    header_key,
    hop_by_hop,
    is_forwarding,
    is_trusted,
)
from certgate.errors import UsageError
from certgate.gate._twisted import reactor

if TYPE_CHECKING:
    from certgate.gate.server import GateRequest

__all__ = ["Exchange", "UpstreamProxy"]

_PENDING_MAX = 64 * 1024  # body bytes held while the upstream connection is being made


class UpstreamProxy:
    """Reverse proxy to ``http://host:port/prefix`` with the identity in headers."""

    streams_body = True  # served when the headers are in; the body follows as it arrives

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or parts.query or parts.fragment:
            raise UsageError(f"--upstream must be an http:// URL with a host, not {url!r}")
        self.base = f"http://{parts.netloc}{parts.path.rstrip('/')}".encode()
        self.netloc = parts.netloc.encode()
        self.url = url
        self._agent: Agent | None = None

    def agent(self, limits: Limits) -> Agent:
        if self._agent is None:
            pool = HTTPConnectionPool(reactor, persistent=True)
            pool.maxPersistentPerHost = 32
            # shorter than any common upstream's keep-alive (gunicorn 2 s, uvicorn 5 s), so a
            # kept connection is not reused just as the upstream closes it
            pool.cachedConnectionTimeout = 2
            self._agent = Agent(reactor, pool=pool, connectTimeout=limits.upstream_connect_timeout)
        return self._agent

    def serve(self, request: GateRequest, decision: Decision) -> None:
        gate = request.channel.gate
        exchange = Exchange(request, gate.policy.limits, request.length)
        request.exchange = exchange
        headers = self.headers(request, decision)
        target = request.target
        assert target is not None
        sent = self.agent(gate.policy.limits).request(
            request.gate_method,
            self.base + target.wire.encode(),
            headers,
            cast(IBodyProducer | None, exchange.body),
        )
        exchange.start(sent)

    def headers(self, request: GateRequest, decision: Decision) -> Headers:
        """The client's end-to-end headers, then the gate's forwarding and identity headers."""
        raw = request.requestHeaders
        connection = [v.decode("latin-1") for v in raw.getRawHeaders(b"connection", [])]
        dropped = hop_by_hop(connection)
        out = Headers()
        previous: dict[str, list[str]] = {}
        for name, values in raw.getAllRawHeaders():
            text = name.decode("latin-1")
            key = header_key(text)
            if "_" not in text and is_forwarding(key):
                previous.setdefault(key, []).extend(v.decode("latin-1") for v in values)
            if key not in dropped and client_header_kept(text):
                out.setRawHeaders(name, list(values))
        gate = request.channel.gate
        client = str(getattr(request.getClientAddress(), "host", ""))
        trusted = is_trusted(client, gate.policy.trusted_proxies)
        host = raw.getRawHeaders(b"host", [b""])[0].decode("latin-1") or None
        for header, value in forwarded_headers(client, host, trusted=trusted, previous=previous):
            out.setRawHeaders(header, [value])
        for header, value in identity_headers(decision):
            out.setRawHeaders(header, [value])
        out.setRawHeaders(b"host", [self.netloc])
        return out


@implementer(IBodyProducer)
class _Body:
    """The client's body as it arrives, written to the upstream connection; when that
    connection cannot take more, the client's connection stops being read."""

    def __init__(self, exchange: Exchange, length: int | None) -> None:
        self.exchange = exchange
        self.length: Any = UNKNOWN_LENGTH if length is None else length
        self.pending: list[bytes] = []
        self.consumer: Any = None
        self.complete = False
        self.stopped = False
        self.finished: defer.Deferred[None] | None = None

    def startProducing(self, consumer: Any) -> defer.Deferred[None]:
        self.consumer = consumer
        self.finished = defer.Deferred()
        pending, self.pending = self.pending, []
        for chunk in pending:
            consumer.write(chunk)
        self.exchange.resume_client()
        self.exchange.progress()
        if self.complete:
            self.finished.callback(None)
        return self.finished

    def feed(self, data: bytes) -> None:
        if self.stopped or self.exchange.closed:
            return
        if self.consumer is None:
            self.pending.append(data)
            if sum(map(len, self.pending)) > _PENDING_MAX:
                self.exchange.pause_client()
            return
        self.consumer.write(data)
        self.exchange.progress()

    def end(self) -> None:
        self.complete = True
        if self.finished is not None and not self.finished.called and not self.stopped:
            self.finished.callback(None)

    def pauseProducing(self) -> None:
        self.exchange.pause_client()

    def resumeProducing(self) -> None:
        self.exchange.resume_client()

    def stopProducing(self) -> None:
        self.stopped = True  # the upstream request ended: ``finished`` never fires


class Exchange:
    """One request in flight to the upstream, with its deadline (checked by the gate's sweep):
    connect + header timeout until the request is written, the header timeout after its last
    body byte, the idle timeout between body chunks either way."""

    def __init__(self, request: GateRequest, limits: Limits, length: int | None) -> None:
        self.request = request
        self.channel = request.channel  # kept: a request forgets it when the client goes
        self.gate = request.channel.gate
        self.limits = limits
        self.body = _Body(self, length) if length != 0 else None
        self.sent: defer.Deferred[IResponse] | None = None
        self.response: IResponse | None = None
        self.relay: _Relay | None = None
        self.received = False  # the client's request is complete: its answer may start
        self.timed_out = False
        self.closed = False
        self.client_paused = False
        now = reactor.seconds()
        self.deadline = now + limits.upstream_connect_timeout + limits.upstream_header_timeout
        self.gate.exchanges.add(self)
        request.notifyFinish().addErrback(lambda _: self.abort())

    def start(self, sent: defer.Deferred[IResponse]) -> None:
        self.sent = sent
        sent.addCallbacks(self._got_response, self._failed)

    # the request body
    def feed(self, data: bytes) -> None:
        if self.body is not None:
            self.body.feed(data)

    def request_complete(self) -> None:
        """The client's request (body included) is in: the upstream's answer may be relayed."""
        self.received = True
        if self.body is not None:
            self.body.end()
        if self.response is None:
            self.deadline = reactor.seconds() + self.limits.upstream_header_timeout
        else:
            self._relay()

    def progress(self) -> None:
        self.deadline = reactor.seconds() + self.limits.upstream_idle_timeout

    def pause_client(self) -> None:
        if not self.client_paused and self.channel.transport is not None:
            self.client_paused = True
            self.channel.paused_by_gate = True
            cast(Any, self.channel.transport).pauseProducing()

    def resume_client(self) -> None:
        if self.client_paused and self.channel.transport is not None:
            self.client_paused = False
            self.channel.paused_by_gate = False
            cast(Any, self.channel.transport).resumeProducing()

    # the response
    def _got_response(self, response: IResponse) -> None:
        self.response = response
        self.progress()
        if self.received:
            self._relay()

    def _relay(self) -> None:
        request, response = self.request, self.response
        assert response is not None
        if self.closed or request.finished or self.channel.rejected:
            self.closed = True
            self._stop_upstream()
            return
        request.setResponseCode(response.code, response.phrase)
        dropped = CONNECTION_HEADERS | hop_by_hop(
            v.decode("latin-1") for v in response.headers.getRawHeaders(b"connection", [])
        )
        for name, values in response.headers.getAllRawHeaders():
            if header_key(name.decode("latin-1")) not in dropped:
                request.responseHeaders.setRawHeaders(name, list(values))
        bodiless = request.gate_method == b"HEAD" or response.code in (204, 304)
        if not bodiless:
            request.responseHeaders.removeHeader(b"content-length")
            if response.length is not UNKNOWN_LENGTH:
                request.setHeader(b"content-length", str(response.length).encode())
        self.relay = _Relay(self)
        cast(Any, response).deliverBody(self.relay)

    def _failed(self, reason: failure.Failure) -> None:
        aborted = self.closed and not self.timed_out  # the client went away first
        self.close()
        request = self.request
        if aborted or request.finished or self.channel.rejected:
            return
        if self.timed_out or reason.check(error.TimeoutError, defer.TimeoutError):
            status, text = 504, b"504 Gateway Timeout: the upstream did not answer in time\n"
        else:
            status, text = 502, b"502 Bad Gateway: the upstream could not be reached\n"
        if not self.received:
            self.channel.refuse(status, text.decode())
            return
        if not request.finished:
            request.setResponseCode(status)
            request.setHeader(b"content-type", b"text/plain")
            request.setHeader(b"content-length", str(len(text)).encode())
            request.write(text)
            request.finish()

    # ending
    def expire(self, now: float) -> None:
        if now <= self.deadline or self.closed:
            return
        if not self.received and not self.client_paused and self.body is not None:
            return  # waiting for the client's body, not the upstream: the client's idle limit
        self.timed_out = True
        if self.response is None and self.sent is not None:
            self.sent.cancel()  # -> _failed: 504
            return
        self._stop_upstream()  # the answer had begun: the client's connection is cut
        self._cut_client()

    def abort(self) -> None:
        """The client went away: drop the upstream request."""
        if self.closed:
            return
        self.close()
        if self.response is None and self.sent is not None:
            self.sent.cancel()
        self._stop_upstream()

    def _stop_upstream(self) -> None:
        """Close the upstream connection of an answer that will not be relayed (or not
        whole), so it is neither read to the end nor left in the pool half-read."""
        if self.response is not None and self.relay is None:
            self.relay = _Relay(self)  # connectionMade sees the exchange closed: stops
            cast(Any, self.response).deliverBody(self.relay)
        elif self.relay is not None and self.relay.transport is not None:
            self.relay.transport.stopProducing()

    def _cut_client(self) -> None:
        transport: Any = self.channel.transport
        if transport is not None:
            transport.abortConnection()

    def close(self) -> None:
        self.closed = True
        self.resume_client()
        self.gate.exchanges.discard(self)


class _Relay(protocol.Protocol):
    """The upstream's body to the client; the client's pace paces the upstream."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.request = exchange.request
        self.registered = False

    def connectionMade(self) -> None:
        if self.exchange.closed or self.request.finished:
            cast(Any, self.transport).stopProducing()
            return
        self.request.registerProducer(self.transport, True)
        self.registered = True

    def dataReceived(self, data: bytes) -> None:
        self.exchange.progress()
        if not self.request.finished and not self.exchange.closed:
            self.request.write(data)

    def connectionLost(self, reason: failure.Failure = protocol.connectionDone) -> None:
        cut = self.exchange.closed
        self.exchange.close()
        if self.registered and not self.request.finished:
            self.request.unregisterProducer()
        if self.request.finished or cut:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            self.request.finish()
        else:  # the upstream broke off: the client must not take a cut answer as whole
            self.exchange._cut_client()
