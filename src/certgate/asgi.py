"""``ClientCertMiddleware``: the gate's judgement for ASGI apps behind a TLS-terminating proxy.

The proxy (nginx, Envoy, Traefik) terminates TLS and forwards the client certificate in a
header; the middleware believes that header only from ``trusted_proxies`` (addresses or
networks), drops it (and every ``Certgate-*`` or other certificate header) from anyone else,
judges the certificate with the policy, and either answers the denial itself (IIS-style, as
``certgate serve`` does) or calls the app with::

    scope["certgate"] = {"identity": ..., "decision": Decision}
    scope["extensions"]["tls"] = {"client_cert_chain": [PEM, ...], "client_cert_name": ...,
                                  "client_cert_error": None}

nginx example (``optional_no_ca``: nginx requests the certificate, certgate judges it)::

    ssl_verify_client optional_no_ca;
    proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from certgate.core.gate.answers import cert_pem, denial_body, denial_headers, is_forwarding_header
from certgate.core.gate.authz import judge_target, malformed_header, repeated_header
from certgate.core.gate.decision import Decision
from certgate.core.gate.forwarded import HEADERS, ProxyKind, parse_forwarded_chain
from certgate.core.gate.judge import Judge
from certgate.core.gate.policy import Policy
from certgate.core.gate.request import header_key, is_trusted

__all__ = ["ClientCertMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ClientCertMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        policy: Policy | str | Path,
        *,
        trusted_proxies: Iterable[str],
        proxy: ProxyKind | str = ProxyKind.NGINX,
        header: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``policy``: a ``Policy`` or the path of a policy file. ``proxy``: nginx, envoy or
        traefik (the header format); ``header`` overrides the header name."""
        if not isinstance(policy, Policy):
            from certgate.gate.config import load_policy

            policy = load_policy(policy).policy
        self.app = app
        self.judge = Judge(policy)
        self.kind = ProxyKind(proxy)
        self.header = (header or HEADERS[self.kind]).lower().encode("latin-1")
        self._header_key = header_key(self.header.decode("latin-1"))
        self.trusted = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
        self.clock = clock or (lambda: datetime.now(UTC))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        chain, problem = self._forwarded(scope)
        headers = [(k, v) for k, v in scope.get("headers", ()) if not self._forwarding(k)]
        decision = problem or judge_target(self.judge, _target(scope), chain, self.clock())
        if not decision.allowed:
            await self._deny(scope, send, decision)
            return
        inner = dict(scope, headers=headers)
        inner["certgate"] = {"identity": decision.identity, "decision": decision}
        extensions = dict(inner.get("extensions") or {})
        extensions["tls"] = {
            "client_cert_chain": [cert_pem(der) for der in chain],
            "client_cert_name": str(decision.certificate.subject) if decision.certificate else None,
            "client_cert_error": None,
        }
        inner["extensions"] = extensions
        await self.app(inner, receive, send)

    def _forwarded(self, scope: Scope) -> tuple[tuple[bytes, ...], Decision | None]:
        if not self._from_trusted_proxy(scope):
            return (), None  # anyone else's certificate header is ignored (and dropped)
        values = [v for k, v in scope.get("headers", ()) if k.lower() == self.header]
        if len(values) > 1:  # joined, the copies would read as one chain: never joined
            return (), repeated_header(self.header.decode("latin-1"), len(values))
        raw = values[0] if values else b""
        try:
            return parse_forwarded_chain(self.kind, raw.decode("latin-1")), None
        except ValueError as exc:
            return (), malformed_header(str(exc))

    def _forwarding(self, name: bytes) -> bool:
        # compared as Django, WSGI and CGI will read them: ``Certgate_Identity`` is
        # ``Certgate-Identity`` there, so it is dropped too
        key = header_key(name.decode("latin-1"))
        return key == self._header_key or is_forwarding_header(key)

    def _from_trusted_proxy(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client:
            return False
        return is_trusted(str(client[0]), self.trusted)

    async def _deny(self, scope: Scope, send: Send, decision: Decision) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": decision.iis_status})
            return
        accept = next(
            (v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"accept"),
            "",
        )
        content_type, body = denial_body(decision, self.judge.policy.answer_format, accept)
        headers = [(n.lower().encode(), v.encode("latin-1")) for n, v in denial_headers(decision)]
        headers += [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": decision.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _target(scope: Scope) -> bytes:
    """The request target as received (``raw_path``), else ``path`` re-encoded: judged as
    ``certgate serve`` and ``authz`` judge theirs (``/public/..%5Corders`` is ``/orders``)."""
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw.startswith(b"/"):
        return raw
    return quote(str(scope.get("path") or "/"), safe="/;:@!$&'()*+,=-._~").encode("ascii")
