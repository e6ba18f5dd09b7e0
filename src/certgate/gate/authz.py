"""``certgate authz`` on the wire: a small HTTP/1.1 service (twisted.web, keep-alive) that
answers a proxy's auth sub-requests with ``core.gate.authz.answer``.

Verdicts are cached by the judge per client chain (DER) for one policy generation; SIGHUP
reloads the policy file (a new judge, an empty cache, the generation + 1; a file that no
longer loads keeps the old policy and says why on stderr). SIGTERM/SIGINT stop it.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from certgate.core.gate.authz import Authorizer, HeaderFormat
from certgate.core.gate.judge import Judge
from certgate.core.gate.policy import Policy
from certgate.gate._twisted import reactor

__all__ = ["AuthzResource", "serve_authz"]


class AuthzResource(Resource):
    isLeaf = True

    def __init__(
        self,
        policy: Policy,
        fmt: HeaderFormat,
        *,
        header: str | None = None,
        prefix: str = "",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.clock = clock or (lambda: datetime.now(UTC))
        self.authorize = Authorizer(Judge(policy), fmt, header=header, prefix=prefix)

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

    def render(self, request: Request) -> bytes:
        headers = {
            name.decode("latin-1").lower(): b", ".join(values).decode("latin-1")
            for name, values in request.requestHeaders.getAllRawHeaders()
        }
        path = (request.path or b"/").decode("latin-1")
        result = self.authorize(headers, path, self.clock())
        request.setResponseCode(result.status)
        for name, value in result.headers:
            request.responseHeaders.setRawHeaders(name, [value])
        if request.method == b"HEAD":
            return b""
        return result.body


class _Site(Site):
    """Replies go out at once: with Nagle's algorithm, the proxy's delayed ACK held each
    small answer back for tens of milliseconds on a kept-alive connection."""

    def buildProtocol(self, addr: Any) -> Any:
        protocol: Any = super().buildProtocol(addr)  # type: ignore[no-untyped-call]
        original = protocol.makeConnection

        def make(transport: Any) -> None:
            if hasattr(transport, "setTcpNoDelay"):
                transport.setTcpNoDelay(True)
            original(transport)

        protocol.makeConnection = make
        return protocol

    def log(self, request: Any) -> None:
        """No access log: the proxy keeps its own, and formatting one cost a tenth of a request."""


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

    resource = AuthzResource(load_policy(policy_file).policy, fmt, header=header, prefix=prefix)
    site = _Site(resource)  # type: ignore[no-untyped-call]
    site.displayTracebacks = False
    site.noisy = False
    failed: list[Exception] = []

    def start() -> None:
        try:
            bound = reactor.listenTCP(port, site, interface=host)
        except Exception as exc:  # CannotListenError: stop and report
            failed.append(exc)
            reactor.stop()
            return
        announce(bound.getHost().port)

    def reload() -> None:
        try:
            resource.reload(load_policy(Path(policy_file)).policy)
        except Exception as exc:  # keep serving with the policy that worked
            print(
                f"certgate authz: policy not reloaded, keeping the old one: {exc}", file=sys.stderr
            )
            return
        print(
            f"certgate authz: policy reloaded (generation {resource.generation})", file=sys.stderr
        )

    def on_signal(signum: int, frame: FrameType | None) -> None:
        reactor.callFromThread(reload if signum == signal.SIGHUP else reactor.stop)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    if failed:
        raise OSError(f"cannot listen on {host}:{port}: {failed[0]}")
