"""``certgate authz`` on the wire: a small HTTP/1.1 service (keep-alive, ``gate.http1``) that
answers a proxy's auth sub-requests with ``core.gate.authz.Authorizer``.

Verdicts are cached by the judge per client chain (DER) for one policy generation; SIGHUP
reloads the policy file (a new judge, an empty cache, the generation + 1; a file that no
longer loads keeps the old policy and says why on stderr). SIGTERM/SIGINT stop it.

Per request: llhttp parses, the certificate header's value is looked up (parsed once per
value), the verdict is a cache hit, and the answer's bytes were rendered once per answer and
connection kind: one ``write``. No access log (the proxy keeps its own). A request carrying
the certificate header more than once is denied (``repeated_header``).
"""

from __future__ import annotations

import signal
import sys
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from twisted.internet import protocol

from certgate.core.gate.authz import Authorizer, AuthzAnswer, HeaderFormat
from certgate.core.gate.judge import Judge
from certgate.core.gate.policy import Policy
from certgate.gate._twisted import reactor
from certgate.gate.http1 import HttpConnection, HttpRequest, WireLimits

__all__ = ["AuthzService", "serve_authz"]

# A proxy's auth sub-request: no body; the certificate header (a PEM chain, URL-encoded) and
# the proxy's own headers. Generous for chains, bounded for everything else.
_LIMITS = WireLimits(max_header_bytes=128 * 1024, max_headers=200, max_body_bytes=64 * 1024)
_RENDERED_MAX = 4096


class AuthzService:
    """The policy's ``Authorizer`` and its answers rendered for the wire."""

    def __init__(
        self,
        policy: Policy,
        fmt: HeaderFormat,
        *,
        header: str | None = None,
        prefix: str = "",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.authorize = Authorizer(Judge(policy), fmt, header=header, prefix=prefix)
        self._header = self.authorize.header.encode("latin-1")
        self._uri_headers = frozenset(h.encode() for h in fmt.uri_headers)
        self._rendered: OrderedDict[int, tuple[AuthzAnswer, bytes]] = OrderedDict()

    @property
    def generation(self) -> int:
        return self.authorize.generation

    def reload(self, policy: Policy) -> None:
        """A new policy: a new judge (its caches start empty) and the next generation."""
        old = self.authorize
        self.authorize = Authorizer(
            Judge(policy),
            old.fmt,
            header=old.header,
            prefix=old.prefix,
            generation=old.generation + 1,
        )
        self._rendered.clear()

    def serve(self, request: HttpRequest) -> None:
        authorize = self.authorize
        certificate: list[bytes] = []
        uris: list[bytes] = []
        accept = b""
        for name, value in request.headers:
            if name == self._header:
                certificate.append(value)
            elif name == b"accept":
                accept = value if not accept else accept + b", " + value
            elif name in self._uri_headers:
                uris.append(value)
        result = authorize.lookup(
            certificate[0].decode("latin-1") if certificate else "",
            uris[0].decode("latin-1") if uris and uris[0] else None,
            request.path.decode("latin-1") or "/",
            accept.decode("latin-1"),
            self.clock(),
            header_count=len(certificate),
            uri_count=len(uris),
        )
        found = self._rendered.get(id(result))
        if found is None or found[0] is not result:
            found = (result, _header_lines(result))
            self._rendered[id(result)] = found
            if len(self._rendered) > _RENDERED_MAX:
                self._rendered.popitem(last=False)
        request.respond_raw(result.status, found[1], result.body)


def _header_lines(result: AuthzAnswer) -> bytes:
    return b"".join(
        b"%s: %s\r\n" % (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in result.headers
    )


class AuthzConnection(HttpConnection):
    limits = _LIMITS
    service: AuthzService

    def connectionMade(self) -> None:
        """Replies go out at once: with Nagle's algorithm, the proxy's delayed ACK held each
        small answer back for tens of milliseconds on a kept-alive connection."""
        transport: Any = self.transport
        if hasattr(transport, "setTcpNoDelay"):
            transport.setTcpNoDelay(True)

    def ended(self, request: HttpRequest) -> None:
        self.service.serve(request)


class _Factory(protocol.Factory):
    noisy = False

    def __init__(self, service: AuthzService) -> None:
        self.service = service

    def buildProtocol(self, addr: Any) -> AuthzConnection:
        connection = AuthzConnection()
        connection.service = self.service
        connection.factory = self
        return connection


def serve_authz(
    policy_file: str,
    fmt: HeaderFormat,
    host: str,
    port: int,
    *,
    header: str | None,
    prefix: str,
    announce: Callable[[int], None],
) -> None:
    """Run until SIGTERM/SIGINT; SIGHUP reloads ``policy_file``."""
    from certgate.gate.config import load_policy

    service = AuthzService(load_policy(policy_file).policy, fmt, header=header, prefix=prefix)
    factory = _Factory(service)
    failed: list[Exception] = []

    def start() -> None:
        try:
            bound = reactor.listenTCP(port, factory, interface=host)
        except Exception as exc:  # CannotListenError: stop and report
            failed.append(exc)
            reactor.stop()
            return
        announce(bound.getHost().port)

    def reload() -> None:
        try:
            service.reload(load_policy(Path(policy_file)).policy)
        except Exception as exc:  # keep serving with the policy that worked
            print(
                f"certgate authz: policy not reloaded, keeping the old one: {exc}", file=sys.stderr
            )
            return
        print(f"certgate authz: policy reloaded (generation {service.generation})", file=sys.stderr)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        reactor.callFromThread(reload if signum == signal.SIGHUP else reactor.stop)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    if failed:
        raise OSError(f"cannot listen on {host}:{port}: {failed[0]}")
