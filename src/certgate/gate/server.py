"""The gate's HTTP layer: limits, the per-request judgement, answers, logs.

TLS and the transport are Twisted's; HTTP/1.x is ``gate.http1`` (llhttp frames). A request is
screened and judged as soon as its headers are in (``GateChannel.started``): an ambiguous target
or framing is refused with 400 and the connection closed; a denied request's body is read and
discarded; an allowed request to a streaming backend (the upstream proxy) starts at once and its
body follows as it arrives. One judgement per chain (``Judge``'s cache), kept on the connection
(the chain cannot change on a connection: renegotiation is off). Fail closed: an error while
judging answers 403.16.
"""

from __future__ import annotations

import io
import socket
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL
from twisted.internet import defer, protocol, task
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import connectionDone
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from twisted.python import failure
from zope.interface import implementer

from certgate.core.gate.answers import denial_body, denial_headers
from certgate.core.gate.decision import Decision
from certgate.core.gate.judge import Judge, internal_error
from certgate.core.gate.policy import ClientCertMode
from certgate.core.gate.request import Refused, Target, canonical_target, screen_headers
from certgate.core.kb import knowledge_base
from certgate.core.revocation import refreshed
from certgate.gate._twisted import reactor
from certgate.gate.backends import Backend, IdentityEcho
from certgate.gate.config import GateConfig, load_crls
from certgate.gate.http1 import HttpConnection, HttpRequest, WireLimits, send_now
from certgate.gate.judging import AddressBudget, JudgingPool
from certgate.gate.logwriter import GateLogs, Served
from certgate.gate.tls import GateTLS, ServerIdentity, peer_chain
from certgate.gate.upstream import Exchange

__all__ = ["GateServer"]

Clock = Callable[[], datetime]
_TOO_LARGE = b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_LINE_TOO_LONG = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
    b"Content-Length: 0\r\n\r\n"
)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


_SCREENED = frozenset({b"host", b"transfer-encoding"})
_TARGETS: OrderedDict[bytes, Target | Refused] = OrderedDict()  # canonical_target's answers
_TARGETS_MAX = 4096


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _canonical(raw: bytes) -> Target | Refused:
    """``canonical_target`` (a pure function of the bytes), remembered for recent targets."""
    if len(raw) > 512:
        return canonical_target(raw)  # long targets are not kept (bounded memory)
    found = _TARGETS.get(raw)
    if found is None:
        found = _TARGETS[raw] = canonical_target(raw)
        if len(_TARGETS) > _TARGETS_MAX:
            _TARGETS.popitem(last=False)
    return found


class GateRequest(HttpRequest):
    """A request and what the gate made of it."""

    channel: GateChannel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decision: Decision | None = None
        self.target: Target | None = None
        self.gate_method = b""
        self.exchange: Exchange | None = None  # a streaming backend's request in flight
        self.discard_body = False

    def screen(self) -> Refused | None:
        """Framing, Host and target rules (``core.gate.request``), before any judgement."""
        headers = [
            (n.decode("latin-1"), v.decode("latin-1"))
            for n, v in self.headers
            if n in _SCREENED  # the only names screen_headers reads (names are lower case)
        ]
        refused = screen_headers(self.method, self.clientproto, headers)
        if refused is not None:
            return refused
        canonical = _canonical(self.uri)
        if isinstance(canonical, Refused):
            return canonical
        self.target = canonical
        self.gate_method = self.method
        return None


@implementer(IHandshakeListener)
class GateChannel(HttpConnection):
    """HTTP/1.x (``gate.http1``) with the gate's limits: handshake and header deadlines,
    sizes, shutdown. A deadline is a timestamp checked by the server's sweep, not a timer
    per request."""

    gate: GateServer
    secure = True
    request_class = GateRequest

    def __init__(self, limits: WireLimits) -> None:
        super().__init__()
        self.limits = limits
        self.chain: tuple[bytes, ...] | None = None
        self.deadline: float | None = None  # handshake, then each request's headers
        self.last_active = 0.0
        self.paused_by_gate = False  # the upstream cannot take more of the body yet
        self.judged: Decision | None = None  # set by the judging pool when it will not judge
        self.verdict: tuple[Judge, Decision, datetime] | None = None  # the chain's, until
        self.held: list[bytes] | None = None  # input kept while the chain is being judged
        self.address = ""  # the client's IP address

    def connectionMade(self) -> None:
        transport: Any = self.transport
        self.address = str(getattr(transport.getPeer(), "host", ""))
        socket_side = getattr(transport, "transport", transport)  # under the TLS layer
        if hasattr(socket_side, "setTcpNoDelay"):
            # Answers go out at once: with Nagle's algorithm, a client's delayed ACK held the
            # second segment of an answer (after the session tickets) back by ~40 ms.
            socket_side.setTcpNoDelay(True)
        self.last_active = reactor.seconds()
        self.deadline = self.last_active + self.gate.policy.limits.handshake_timeout
        self.gate.channels.add(self)

    def handshakeCompleted(self) -> None:
        self.deadline = None
        transport: Any = self.transport
        if self.gate.pool.prejudge(self, self.peer_chain(), self.address):
            self.held = []  # judged off the reactor: read nothing until the verdict is in
            transport.pauseProducing()

    def release(self) -> None:
        """The chain's verdict is in: read what arrived meanwhile, then the socket again."""
        held, self.held = self.held, None
        transport: Any = self.transport
        if transport is None or held is None:
            return
        self.last_active = reactor.seconds()
        transport.resumeProducing()
        for data in held:
            self.dataReceived(data)

    def dataReceived(self, data: bytes) -> None:
        self.last_active = reactor.seconds()
        if self.held is not None:
            self.held.append(data)
            return
        super().dataReceived(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.deadline is None:
            self.deadline = self.last_active + self.gate.policy.limits.header_timeout

    def on_headers_complete(self) -> None:
        self.deadline = None
        super().on_headers_complete()

    def started(self, request: HttpRequest) -> None:
        assert isinstance(request, GateRequest)
        refused = request.screen()
        if refused is not None:
            self.refuse(refused.status, refused.reason)
            return
        if request.length is not None and request.length > self.limits.max_body_bytes:
            self.reject(_TOO_LARGE)  # 413 before anything is judged or forwarded
            return
        if request.length != 0 and not self.gate.backend.streams_body:
            request.content = io.BytesIO()  # kept for the backend (a WSGI app reads it)
        self.gate.admit(request)
        if (
            request.length != 0
            and request.clientproto == b"HTTP/1.1"
            and (request.header(b"expect") or b"").lower() == b"100-continue"
            and not self.stopped
        ):
            self.send(_CONTINUE)

    def body(self, request: HttpRequest, data: bytes) -> None:
        assert isinstance(request, GateRequest)
        request.body_bytes += len(data)
        if request.body_bytes > self.limits.max_body_bytes:
            self.reject(_TOO_LARGE)
            return
        if request.exchange is not None:
            request.exchange.feed(data)
        elif not request.discard_body and request.content is not None:
            request.content.write(data)

    def ended(self, request: HttpRequest) -> None:
        assert isinstance(request, GateRequest)
        if request.content is not None:
            request.content.seek(0)
        self.gate.handle(request)

    def finished(self, request: HttpRequest) -> None:
        assert isinstance(request, GateRequest)
        self.gate.log(request)

    def dropped(self, request: HttpRequest) -> None:
        exchange: Exchange | None = getattr(request, "exchange", None)
        if exchange is not None:
            exchange.abort()

    def refused(self, status: int) -> None:
        self.deadline = None
        self.gate.log_refused(self, status)

    def connectionLost(self, reason: failure.Failure = connectionDone) -> None:
        self.gate.channels.discard(self)
        super().connectionLost(reason)

    def peer_chain(self) -> tuple[bytes, ...]:
        if self.chain is None:
            self.chain = peer_chain(self.transport.getHandle())  # type: ignore[union-attr]
        return self.chain

    @property
    def busy(self) -> bool:
        return self.current is not None or bool(self.waiting)

    def expire_if_late(self, now: float, idle: float) -> None:
        late = self.deadline is not None and now > self.deadline
        if self.deadline is None and not self.paused_by_gate:
            # idle between requests, or silent in the middle of a request body
            current = self.current
            waiting = current is None or not current.complete
            late = waiting and now - self.last_active > idle
        if late and self.transport is not None:
            self.deadline = None
            self.abort()


class _TLSProtocol(TLSMemoryBIOProtocol):
    """Twisted's TLS, its records sent as soon as they are made (``send_now``)."""

    def _flushSendBIO(self) -> None:
        try:
            data = self._tlsConnection.bio_read(2**15)
        except SSL.WantReadError:
            return  # nothing to send
        send_now(self.transport, data)


class _TLSFactory(TLSMemoryBIOFactory):
    """TLS without Twisted's write aggregation: its ``BufferingTLSTransport`` holds each
    write for one more reactor turn (a ``callLater(0)`` per answer) to join small writes;
    the gate's answers are already one write each."""

    protocol = _TLSProtocol


class GateSite(protocol.Factory):
    """Makes a ``GateChannel`` per accepted connection (TLS wraps it)."""

    noisy = False

    def __init__(self, gate: GateServer) -> None:
        self.gate = gate

    def buildProtocol(self, addr: Any) -> Any:
        limits = self.gate.policy.limits
        channel = GateChannel(
            WireLimits(limits.max_header_bytes, limits.max_headers, limits.max_body_bytes)
        )
        channel.gate = self.gate
        channel.factory = self
        return channel


class GateTLSFactory(_TLSFactory):
    """TLS over each accepted connection, unless its address is refused at accept."""

    def __init__(self, gate: GateServer) -> None:
        super().__init__(cast(Any, gate.tls), False, cast(Any, GateSite(gate)))
        self.gate = gate

    def buildProtocol(self, addr: Any) -> Any:
        if self.gate.refuses_connection(getattr(addr, "host", "")):
            return None  # the port closes the socket at once: no TLS work
        return super().buildProtocol(addr)


class GateServer:
    """One listening gate. Start and stop it on the reactor thread (``running_gate`` does)."""

    def __init__(
        self,
        config: GateConfig,
        identity: ServerIdentity,
        backend: Backend | None = None,
        *,
        clock: Clock = _utcnow,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.policy = config.policy
        self.judge = Judge(self.policy)
        budget = AddressBudget.from_limits(self.policy.limits)
        self.pool = JudgingPool(lambda: self.judge, clock, budget=budget, warn=self._note)
        self.identity = identity
        self.backend = backend or IdentityEcho()
        self.clock = clock
        self.tls = GateTLS(identity, self.policy)
        self.logs = GateLogs(config.logs.w3c_dir, config.logs.svclog)
        self.channels: set[GateChannel] = set()
        self.exchanges: set[Exchange] = set()  # requests in flight to the upstream
        self.port: Any = None  # IListeningPort
        self._warn = warn or (lambda text: print(f"certgate serve: {text}", file=sys.stderr))
        knowledge_base()  # loaded now, not by the first denial's answer (0.5 s on the reactor)
        self.pool.start()
        self._refresh: task.LoopingCall | None = None
        self._sweep = task.LoopingCall(self._expire_late)
        self._forgotten = 0.0
        self._waiting: list[defer.Deferred[None]] = []
        self._stopped = False
        # rendered denials (header lines, body) per decision and Accept header
        self._denials: OrderedDict[tuple[int, bytes], tuple[Decision, bytes, bytes]] = OrderedDict()

    def listen(self, host: str, port: int) -> int:
        self.port = reactor.listenTCP(port, GateTLSFactory(self), backlog=128, interface=host)
        return self._started()

    def adopt(self, listening: socket.socket) -> int:
        """Serve on a socket bound and listening elsewhere (``serve --workers``: every worker
        accepts from the master's socket); the reactor keeps its own duplicate."""
        listening.setblocking(False)  # Twisted accepts until EAGAIN; the workers share it
        listening.set_inheritable(False)
        factory = GateTLSFactory(self)
        self.port = reactor.adoptStreamPort(listening.fileno(), listening.family, factory)
        return self._started()

    def reload(self, config: GateConfig) -> None:
        """A new policy for new requests: a new judge, an empty verdict cache, new TLS
        settings for new connections, the CRL refresh of the new file. The log destinations
        are kept until a restart (a warning says so when they changed)."""
        if config.logs != self.config.logs:
            self._warn("the [logs] settings changed: they take effect on restart")
        self.config = config
        self.policy = config.policy
        self.judge = Judge(self.policy)
        self.tls.reload(self.policy)
        self.pool.budget.configure(self.policy.limits)
        if self._refresh is not None and self._refresh.running:
            self._refresh.stop()
        self._refresh = None
        if self.port is not None:
            self._start_refresh()

    def _start_refresh(self) -> None:
        if self.policy.crl_refresh > 0 and self.config.crl_files:
            self._refresh = task.LoopingCall(self.refresh_crls)
            self._refresh.start(self.policy.crl_refresh, now=False)

    def _started(self) -> int:
        limits = self.policy.limits
        tick = (
            min(
                limits.handshake_timeout,
                limits.header_timeout,
                limits.idle_timeout,
                limits.upstream_header_timeout,
                limits.upstream_idle_timeout,
            )
            / 4
        )
        self._sweep.start(min(1.0, max(0.05, tick)), now=False)
        self._start_refresh()
        return int(self.port.getHost().port)

    def admit(self, request: GateRequest) -> None:
        """Judge a request whose headers are in; start it at once on a streaming backend."""
        try:
            decision = self._decide(request)
        except Exception as exc:  # fail closed
            self._warn(f"error while judging: {type(exc).__name__}: {exc}")
            decision = internal_error(exc)
        request.decision = decision
        if not decision.allowed:
            request.discard_body = True
        elif self.backend.streams_body:
            try:
                self.backend.serve(request, decision)
            except Exception as exc:
                self._warn(f"cannot forward: {type(exc).__name__}: {exc}")
                request.channel.refuse(502, "the request could not be forwarded")

    def handle(self, request: GateRequest) -> None:
        """The whole request is in: answer it (or let the streaming backend relay)."""
        decision = request.decision
        assert decision is not None
        if not decision.allowed:
            delay = self._denial_delay(request, decision)
            if delay > 0:
                reactor.callLater(delay, self._deny_later, request, decision)
            else:
                self._deny(request, decision)
        elif request.exchange is not None:
            request.exchange.request_complete()
        elif not self.backend.streams_body:
            self.backend.serve(request, decision)

    def _note(self, text: str) -> None:
        self._warn(text)

    def refuses_connection(self, address: str) -> bool:
        """An address being slowed that connects faster than its answers come is closed at
        accept, before any TLS work (``AddressBudget.admits``)."""
        budget = self.pool.budget
        now = reactor.seconds()
        if budget.delay(address, now) <= 0:
            return False
        open_here = sum(1 for c in self.channels if c.address == address)
        return not budget.admits(address, now, open_here)

    def _denial_delay(self, request: GateRequest, decision: Decision) -> float:
        """Certificate denials slow the address that earns them (``judging.AddressBudget``)."""
        if not request.channel.chain:
            return 0.0
        return self.pool.budget.denied(request.channel.address, reactor.seconds())

    def _deny_later(self, request: GateRequest, decision: Decision) -> None:
        if request.channel.transport is not None and not request.finished:
            self._deny(request, decision)

    def _decide(self, request: GateRequest) -> Decision:
        # locations match the canonical path (core.gate.request): no ..%5c or ..;/ detours
        assert request.target is not None
        channel = request.channel
        chain = channel.peer_chain()
        path = request.target.judged
        judge = self.judge
        judged = channel.judged
        at = self.clock()
        if (
            chain
            and judged is None
            and judge.policy.location_for(path).client_cert is not ClientCertMode.IGNORE
        ):
            # the chain cannot change on a connection (renegotiation is off): its verdict is
            # kept on the connection while the judge and the verdict's time window hold
            kept = channel.verdict
            if kept is not None and kept[0] is judge and at < kept[2]:
                judged = kept[1]
            else:
                judged, until = judge.judgement(chain, at)
                channel.verdict = (judge, judged, until)
        hints = self.tls.hints if not chain else 0
        return judge.decide(path, chain, at, hints=hints, judged=judged)

    def _deny(self, request: GateRequest, decision: Decision) -> None:
        accept = request.header(b"accept") or b""
        key = (id(decision), accept)
        found = self._denials.get(key)
        if found is None or found[0] is not decision:
            content_type, body = denial_body(
                decision, self.policy.answer_format, accept.decode("latin-1")
            )
            lines = b"".join(
                b"%s: %s\r\n" % (name.encode(), value.encode("latin-1"))
                for name, value in (
                    *denial_headers(decision),
                    ("Content-Type", content_type),
                    ("Cache-Control", "no-store"),
                )
            )
            found = (decision, lines, body)
            self._denials[key] = found
            if len(self._denials) > 1024:
                self._denials.popitem(last=False)
        request.respond_raw(decision.status, found[1], found[2])

    def _expire_late(self) -> None:
        try:
            self.logs.flush()  # the logs are buffered: lines reach their files here
        except OSError as exc:
            self._warn(f"cannot write the log: {exc}")
        now = reactor.seconds()
        idle = self.policy.limits.idle_timeout
        for channel in list(self.channels):
            channel.expire_if_late(now, idle)
        for exchange in list(self.exchanges):
            exchange.expire(now)
        if now - self._forgotten >= self.pool.budget.window:  # budgets of quiet addresses
            self._forgotten = now
            self.pool.budget.forget_idle(now)

    def log(self, request: GateRequest) -> None:
        if self.logs.w3c_dir is None and self.logs.svclog is None:
            return
        try:
            self.logs.write(_served(request, self.clock()))
        except OSError as exc:
            self._warn(f"cannot write the log: {exc}")

    def log_refused(self, channel: GateChannel, status: int) -> None:
        """A W3C line for a request refused before it was whole (400, 405, 413, 431, 502,
        504 while the body still arrived): what is known of it, the status."""
        if self.logs.w3c_dir is None:
            return
        request = channel.current or channel.parsing
        target = request.uri if request is not None else channel.url_so_far
        method = request.method if request is not None else b"-"
        server: Any = getattr(channel.transport, "getHost", lambda: None)()

        def header(name: bytes) -> str:
            found = request.header(name) if request is not None else None
            return (found or b"").decode("latin-1")

        served = Served(
            when=self.clock(),
            method=method.decode("latin-1"),
            path=target.partition(b"?")[0].decode("latin-1") or "-",
            query=target.partition(b"?")[2].decode("latin-1"),
            server_ip=getattr(server, "host", ""),
            server_port=getattr(server, "port", 0),
            client_ip=channel.address,
            user_agent=header(b"user-agent"),
            referer=header(b"referer"),
            status=status,
            time_taken_ms=int((reactor.seconds() - request.started_at) * 1000) if request else 0,
            decision=None,
            host=header(b"host"),
        )
        try:
            self.logs.write(served)
        except OSError as exc:
            self._warn(f"cannot write the log: {exc}")

    def refresh_crls(self) -> None:
        problems: list[str] = []
        crls = load_crls(self.config.crl_files, lambda where, text: problems.append(text))
        if problems:
            self._warn("CRL refresh failed, keeping the previous CRLs: " + "; ".join(problems))
            return
        signers = [c for store in self.policy.machine.stores for c in store]
        crls, kept_back = refreshed(self.policy.crls, crls, signers)
        for text in kept_back:
            self._warn(text)
        if _crl_set(crls) != _crl_set(self.policy.crls):  # a new generation only for news
            self.policy = self.policy.with_crls(crls)
            self.judge = Judge(self.policy, cache=self.judge.cache)

    def stop(self, grace: float | None = None) -> defer.Deferred[None]:
        """Stop listening, let requests in flight finish (up to ``grace`` s), then close.
        Calling it again waits for the same shutdown."""
        done: defer.Deferred[None] = defer.Deferred()
        self._waiting.append(done)
        if len(self._waiting) > 1 or self._stopped:
            if self._stopped:
                self._release()
            return done
        for loop in (self._refresh, self._sweep):
            if loop is not None and loop.running:
                loop.stop()
        if self.port is not None:
            stopped: Any = defer.maybeDeferred(self.port.stopListening)
            stopped.addErrback(lambda reason: self._warn(f"stop listening: {reason.value}"))
        for channel in list(self.channels):
            channel.closing = True
            if not channel.busy:
                channel.loseConnection()
        limit = self.policy.limits.shutdown_grace if grace is None else grace
        self._drain(reactor.seconds() + limit)
        return done

    def _drain(self, deadline: float) -> None:
        """Poll until every connection is gone; past the deadline, abort what is left."""
        if not self.channels:
            self.logs.close()
            self.pool.stop()
            self._stopped = True
            self._release()
            return
        if reactor.seconds() >= deadline:
            for channel in list(self.channels):
                transport: Any = channel.transport
                if transport is not None:
                    transport.abortConnection()
        reactor.callLater(0.02, self._drain, deadline)

    def _release(self) -> None:
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            waiter.callback(None)


def _crl_set(crls: Iterable[x509.CertificateRevocationList]) -> frozenset[bytes]:
    """What a set of CRLs says, order and repeats aside (their DER)."""
    return frozenset(crl.public_bytes(Encoding.DER) for crl in crls)


def _served(request: GateRequest, when: datetime) -> Served:
    server = request.getHost()
    client = request.getClientAddress()
    elapsed = reactor.seconds() - request.started_at
    return Served(
        when=when,
        method=request.method.decode("latin-1"),
        path=request.path.decode("latin-1"),
        query=request.uri.partition(b"?")[2].decode("latin-1"),
        server_ip=getattr(server, "host", ""),
        server_port=getattr(server, "port", 0),
        client_ip=getattr(client, "host", ""),
        user_agent=(request.getHeader(b"user-agent") or b"").decode("latin-1"),
        referer=(request.getHeader(b"referer") or b"").decode("latin-1"),
        status=request.code,
        time_taken_ms=int(elapsed * 1000),
        decision=request.decision,
        host=(request.getHeader(b"host") or b"").decode("latin-1"),
    )
