"""One probe connection: TCP connect, TLS handshake, one HTTP/1.1 request, the answer.

pyOpenSSL on a non-blocking socket with ``select`` (a socket timeout makes pyOpenSSL raise
WantReadError at once, python-deps.md §2). The info callback (public API) tells when a
CertificateRequest or a HelloRequest arrives and which alert the server sent; the raw
CertificateRequest comes from a private message tap (``_private``).
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from OpenSSL import SSL

from certgate.core.names import Name
from certgate.core.probe import (
    Alert,
    Attempt,
    CertificateRequest,
    Outcome,
    Stage,
    TlsVersion,
    answer_complete,
    build_request,
    parse_answer,
    parse_certificate_request,
)
from certgate.core.probe.handshake import CERTIFICATE_REQUEST
from certgate.tls._private import enable_post_handshake_auth, tap_handshake_messages

__all__ = ["Credentials", "Endpoint", "Unreachable", "run_attempt"]

T = TypeVar("T")

_VERSIONS = {TlsVersion.TLS1_2: SSL.TLS1_2_VERSION, TlsVersion.TLS1_3: SSL.TLS1_3_VERSION}
_READ_REQUEST = b"SSLv3/TLS read server certificate request"
_READ_HELLO_REQUEST = b"SSLv3/TLS read hello request"
_FATAL = 2
MAX_ANSWER = 1 << 20  # an error page is at the start; nothing after 1 MiB matters
_CHUNK = 16 * 1024


@dataclass(frozen=True)
class Credentials:
    """A client certificate, its extra chain, and its key (never printed: ``repr=False``)."""

    certificate: x509.Certificate
    key: PrivateKeyTypes = field(repr=False)
    chain: tuple[x509.Certificate, ...] = ()

    def present(self, context: SSL.Context) -> None:
        """Make ``context`` offer this certificate, its chain and key when a server asks."""
        context.use_certificate(self.certificate)
        for extra in self.chain:
            context.add_extra_chain_cert(extra)
        context.use_privatekey(self.key)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Endpoint:
    address: str  # an IP address
    port: int
    server_name: str | None  # SNI
    host_header: str


class Unreachable(Exception):
    """No TCP connection: ``code`` is refused, timeout or unreachable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _Watch:
    """What the callbacks saw; ``after`` is set once the handshake is done."""

    after: bool = False
    alert: Alert | None = None
    hello_request: bool = False
    asked: list[bool] = field(default_factory=list)  # one entry per request: after or not
    messages: list[tuple[bool, bytes]] = field(default_factory=list)
    tapped: bool = False

    def on_info(self, conn: SSL.Connection, where: int, ret: int) -> None:
        if where & SSL.SSL_CB_READ_ALERT == SSL.SSL_CB_READ_ALERT:
            if ret >> 8 == _FATAL and self.alert is None:
                self.alert = Alert(ret & 0xFF)
        elif where & SSL.SSL_CB_LOOP:
            state = conn.get_state_string()
            if state == _READ_REQUEST:
                self.asked.append(self.after)
            elif state == _READ_HELLO_REQUEST:
                self.hello_request = True

    def on_message(self, message: bytes) -> None:
        if message[0] == CERTIFICATE_REQUEST:
            self.messages.append((self.after, message))


def connect(endpoint: Endpoint, timeout: float) -> socket.socket:
    try:
        sock = socket.create_connection((endpoint.address, endpoint.port), timeout=timeout)
    except ConnectionRefusedError as exc:
        raise Unreachable("refused", f"connection refused ({exc.strerror})") from exc
    except TimeoutError as exc:
        raise Unreachable("timeout", f"no TCP connection within {timeout:g}s") from exc
    except OSError as exc:
        raise Unreachable("unreachable", exc.strerror or str(exc)) from exc
    sock.setblocking(False)
    return sock


def run_attempt(
    endpoint: Endpoint,
    version: TlsVersion,
    path: str,
    *,
    timeout: float,
    credentials: Credentials | None,
    user_agent: str,
) -> Attempt:
    """Raises ``Unreachable`` when no TCP connection can be made; anything else is a result."""
    watch = _Watch()
    context = _context(version, credentials, watch)
    sock = connect(endpoint, timeout)
    try:
        conn = SSL.Connection(context, sock)
        pha = version is TlsVersion.TLS1_3 and enable_post_handshake_auth(conn)
        if endpoint.server_name:
            conn.set_tlsext_host_name(endpoint.server_name.encode("idna"))
        conn.set_connect_state()
        request = build_request(endpoint.host_header, path, user_agent)
        result = _exchange(conn, sock, request, timeout, watch)
        return _attempt(path, credentials is not None, version, conn, watch, result, pha)
    finally:
        sock.close()


def _context(version: TlsVersion, credentials: Credentials | None, watch: _Watch) -> SSL.Context:
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_min_proto_version(_VERSIONS[version])
    context.set_max_proto_version(_VERSIONS[version])
    context.set_verify(SSL.VERIFY_NONE)  # a probe looks at any server, trusted or not
    # Reach old servers too: legacy renegotiation, weak keys and SHA-1 signatures.
    context.set_options(SSL.OP_LEGACY_SERVER_CONNECT | SSL.OP_IGNORE_UNEXPECTED_EOF)
    context.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
    context.set_info_callback(watch.on_info)
    watch.tapped = tap_handshake_messages(context, watch.on_message)
    if credentials is not None:
        credentials.present(context)
    return context


@dataclass
class _Exchange:
    outcome: Outcome
    handshake_completed: bool = False
    data: bytes = b""
    detail: str = ""
    cut_short: bool = False  # the answer stopped coming before it was complete


def _exchange(
    conn: SSL.Connection, sock: socket.socket, request: bytes, timeout: float, watch: _Watch
) -> _Exchange:
    state = _Exchange(Outcome.ERROR)
    try:
        _io(sock, timeout, conn.do_handshake)
        state.handshake_completed = watch.after = True
        _io(sock, timeout, conn.send, request)
        _read_answer(conn, sock, timeout, state)
    except TimeoutError:
        state.outcome = Outcome.TIMEOUT
        state.detail = "" if state.handshake_completed else f"no handshake within {timeout:g}s"
    except (SSL.SysCallError, OSError) as exc:
        state.outcome, state.detail = Outcome.CLOSED, _reason(exc)
    except SSL.Error as exc:
        state.outcome = Outcome.ALERT if watch.alert is not None else Outcome.ERROR
        state.detail = _reason(exc)
    if state.data and state.outcome is not Outcome.ALERT:
        state.outcome = Outcome.ANSWERED
    return state


def _read_answer(
    conn: SSL.Connection, sock: socket.socket, timeout: float, state: _Exchange
) -> None:
    """Read until the answer is complete or the server closes; keep what came before an error.

    ``timeout`` bounds the whole answer, not each read (a server that drips a byte a second
    would otherwise never end), and at most ``MAX_ANSWER`` bytes are kept."""
    deadline = time.monotonic() + timeout
    while not answer_complete(state.data):
        if len(state.data) >= MAX_ANSWER:
            state.cut_short = True
            break
        try:
            left = _left(deadline)
            if left <= 0:
                raise TimeoutError
            chunk = _io(sock, left, conn.recv, _CHUNK)
        except SSL.ZeroReturnError:
            break
        except (SSL.SysCallError, TimeoutError):
            if not state.data:
                raise
            state.cut_short = True
            break
        if not chunk:
            break
        state.data += chunk
    state.outcome = Outcome.ANSWERED if state.data else Outcome.CLOSED


def _io(sock: socket.socket, timeout: float, operation: Callable[..., T], *args: object) -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return operation(*args)
        except SSL.WantReadError:
            readable, _, _ = select.select([sock], [], [], _left(deadline))
            if not readable:
                raise TimeoutError from None
        except SSL.WantWriteError:
            _, writable, _ = select.select([], [sock], [], _left(deadline))
            if not writable:
                raise TimeoutError from None


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SSL.SysCallError):
        return "connection reset" if exc.args and exc.args[0] != -1 else "unexpected EOF"
    if isinstance(exc, SSL.Error) and exc.args and isinstance(exc.args[0], list):
        reasons = [str(item[-1]) for item in exc.args[0] if isinstance(item, tuple) and item]
        return "; ".join(reasons) or type(exc).__name__
    return str(exc) or type(exc).__name__


def _attempt(
    path: str,
    with_certificate: bool,
    version: TlsVersion,
    conn: SSL.Connection,
    watch: _Watch,
    exchange: _Exchange,
    pha: bool,
) -> Attempt:
    http = parse_answer(exchange.data, truncated=exchange.cut_short)
    outcome = exchange.outcome
    if outcome is Outcome.ANSWERED and http is None:
        outcome = Outcome.CLOSED  # bytes that are no HTTP answer: not a web server
    return Attempt(
        path=path,
        with_certificate=with_certificate,
        outcome=outcome,
        requests=_requests(conn, watch, version),
        alert=watch.alert,
        http=http,
        handshake_completed=exchange.handshake_completed,
        protocol=conn.get_protocol_version_name() if exchange.handshake_completed else None,
        cipher=conn.get_cipher_name() if exchange.handshake_completed else None,
        detail=exchange.detail,
        post_handshake_auth=pha,
    )


def _stage(after: bool, version: TlsVersion) -> Stage:
    if not after:
        return Stage.HANDSHAKE
    return Stage.RENEGOTIATION if version is TlsVersion.TLS1_2 else Stage.POST_HANDSHAKE


def _requests(
    conn: SSL.Connection, watch: _Watch, version: TlsVersion
) -> tuple[CertificateRequest, ...]:
    tls13 = version is TlsVersion.TLS1_3
    parsed: list[CertificateRequest] = []
    for after, message in watch.messages:
        try:
            fields = parse_certificate_request(message, tls13=tls13)
        except ValueError:
            continue
        parsed.append(
            CertificateRequest(
                stage=_stage(after, version),
                ca_names=tuple(Name.from_der(der) for der in fields.ca_names),
                ca_names_bytes=fields.ca_names_bytes,
                signature_algorithms=fields.signature_algorithms,
                certificate_types=fields.certificate_types,
                from_message=True,
            )
        )
    if len(parsed) == len(watch.asked):
        return tuple(parsed)
    return tuple(_from_api(conn, _stage(after, version)) for after in watch.asked)


def _from_api(conn: SSL.Connection, stage: Stage) -> CertificateRequest:
    """Without the raw message: the names through the public API, their wire size computed."""
    names = tuple(
        Name.from_cryptography(n)
        for n in conn.get_client_ca_list(as_cryptography=True)
        if isinstance(n, x509.Name)
    )
    return CertificateRequest(stage, names, sum(2 + len(n.der) for n in names))
