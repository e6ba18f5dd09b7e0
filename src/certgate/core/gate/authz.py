"""``certgate authz``: the gate's judgement for a proxy that terminates TLS itself.

The proxy (nginx ``auth_request``, Caddy ``forward_auth``, Traefik ``forwardAuth``, Envoy
``ext_authz``, HAProxy through a Lua auth-request action) requests the client certificate
without verifying it, passes it in a header, and asks certgate before serving the request.
certgate answers 200 with identity headers (the proxy copies them upstream) or the IIS-style
denial (401/403, ``Certgate-Status: 403.16``, the reason, the HRESULT and the denial body),
which the proxy passes to the client.

Pure: headers in, an ``AuthzAnswer`` out, the time passed in. The header formats::

    nginx    X-SSL-Client-Cert: $ssl_client_escaped_cert   (URL-encoded PEM, the leaf)
    envoy    X-Forwarded-Client-Cert (XFCC, Cert= or Chain=)
    traefik  X-Forwarded-Tls-Client-Cert (passTLSClientCert pem: base64 DER, comma-separated)
    caddy    X-Client-Cert: {http.request.tls.client.certificate_der_base64}
    haproxy  X-SSL-Client-Der: %[ssl_c_der,base64]

The path judged (per-location policy) is the one URI header the proxy writes: ``X-Original-URI``
(nginx, HAProxy) or ``X-Forwarded-Uri`` (Caddy, Traefik); Envoy: the request's own path
without ``prefix`` (its ``path_prefix``).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from certgate.core.gate.answers import denial_body, denial_headers, identity_headers
from certgate.core.gate.decision import Decision, deny
from certgate.core.gate.forwarded import ProxyKind, parse_forwarded_chain
from certgate.core.gate.judge import Judge
from certgate.core.gate.policy import ClientCertMode
from certgate.core.gate.request import Refused, canonical_target

__all__ = [
    "Authorizer",
    "AuthzAnswer",
    "HeaderFormat",
    "answer",
    "judge_target",
    "judged_path",
    "malformed_header",
    "repeated_header",
]


class HeaderFormat(StrEnum):
    NGINX = "nginx"
    ENVOY = "envoy"
    TRAEFIK = "traefik"
    CADDY = "caddy"
    HAPROXY = "haproxy"

    @property
    def header(self) -> str:
        """The header the documented snippets use (lower case)."""
        return _HEADERS[self]

    @property
    def parser(self) -> ProxyKind:
        return _PARSERS[self]

    @property
    def uri_headers(self) -> tuple[str, ...]:
        """The header this proxy writes the original request target in (none: Envoy). Only
        that one is read: Caddy and Traefik copy the client's own headers into the auth
        request, so a client's ``X-Original-URI`` must not outrank their ``X-Forwarded-Uri``."""
        return _URI_BY_FORMAT[self]


_HEADERS = {
    HeaderFormat.NGINX: "x-ssl-client-cert",
    HeaderFormat.ENVOY: "x-forwarded-client-cert",
    HeaderFormat.TRAEFIK: "x-forwarded-tls-client-cert",
    HeaderFormat.CADDY: "x-client-cert",
    HeaderFormat.HAPROXY: "x-ssl-client-der",
}
# Caddy's and HAProxy's base64 DER is Traefik's format with a single certificate.
_PARSERS = {
    HeaderFormat.NGINX: ProxyKind.NGINX,
    HeaderFormat.ENVOY: ProxyKind.ENVOY,
    HeaderFormat.TRAEFIK: ProxyKind.TRAEFIK,
    HeaderFormat.CADDY: ProxyKind.TRAEFIK,
    HeaderFormat.HAPROXY: ProxyKind.TRAEFIK,
}
_URI_HEADERS = ("x-original-uri", "x-forwarded-uri")
_URI_BY_FORMAT: dict[HeaderFormat, tuple[str, ...]] = {
    HeaderFormat.NGINX: ("x-original-uri",),
    HeaderFormat.HAPROXY: ("x-original-uri",),
    HeaderFormat.CADDY: ("x-forwarded-uri",),
    HeaderFormat.TRAEFIK: ("x-forwarded-uri",),
    HeaderFormat.ENVOY: (),
}
MAX_PATH = 8192
_FOREVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AuthzAnswer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    decision: Decision | None = None


def judged_path(
    headers: Mapping[str, str],
    request_path: str,
    prefix: str = "",
    uri_headers: Sequence[str] = _URI_HEADERS,
) -> str:
    """The original request's path: from the proxy's URI header (``HeaderFormat.uri_headers``),
    else our own path."""
    for name in uri_headers:
        value = headers.get(name)
        if value:
            return _path_only(value)
    path = _path_only(request_path)
    if prefix and path.startswith(prefix):
        path = path[len(prefix) :] or "/"
    return path if path.startswith("/") else "/" + path


def _path_only(uri: str) -> str:
    """The path of a request target, undecoded (``canonical_target`` decodes it once).

    Not ``urlsplit``: it reads ``//host/x`` as an authority and the path ``/x``, while the
    proxy serves ``//host/x`` as the path ``/host/x``. Only an absolute-form target
    (``https://host/x``, which a client may send) loses its scheme and authority."""
    text = uri[:MAX_PATH].split("#", 1)[0].split("?", 1)[0]
    scheme = _ABSOLUTE.match(text)
    if scheme is not None:
        rest = text[scheme.end() :]
        text = rest[rest.find("/") :] if "/" in rest else "/"
    return text if text.startswith("/") else "/" + text


_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# Caddy's header_up leaves a placeholder it has no value for unexpanded: the connection's
# client-certificate placeholders, when the client sent no certificate (tests/test_authz_proxies)
_CADDY_UNSET = re.compile(r"\{http\.request\.tls\.client\.[a-z0-9_.]+\}")


class Authorizer:
    """``answer`` with the per-request work kept: the certificate header's value -> the chain
    it carries, and a decision -> its rendered answer (both bounded, least recently used
    first out). The judge caches the decisions themselves (per chain, until the policy changes,
    a TTL or a validity boundary). One policy generation: a reload makes a new one. Not
    thread-safe (one reactor thread)."""

    def __init__(
        self,
        judge: Judge,
        fmt: HeaderFormat,
        *,
        header: str | None = None,
        prefix: str = "",
        generation: int = 0,
        size: int = 4096,
    ) -> None:
        self.judge = judge
        self.fmt = fmt
        self.header = (header or fmt.header).lower()
        self.prefix = prefix
        self.generation = generation
        self.size = size
        self._chains: OrderedDict[str, tuple[bytes, ...] | str] = OrderedDict()
        self._answers: OrderedDict[Hashable, AuthzAnswer] = OrderedDict()
        self._memo: OrderedDict[Hashable, tuple[AuthzAnswer, datetime, datetime]] = OrderedDict()

    def __call__(
        self,
        headers: Mapping[str, str],
        request_path: str,
        at: datetime,
        *,
        header_count: int = 1,
    ) -> AuthzAnswer:
        """``header_count``: how many times the certificate header came; more than once is
        refused (``repeated_header``), never read as one chain."""
        uri = next((headers[n] for n in self.fmt.uri_headers if headers.get(n)), None)
        return self.lookup(
            headers.get(self.header, ""),
            uri,
            request_path,
            headers.get("accept", ""),
            at,
            header_count=header_count,
        )

    def lookup(
        self,
        certificate: str,
        uri: str | None,
        request_path: str,
        accept: str,
        at: datetime,
        *,
        header_count: int = 1,
        uri_count: int = 1,
    ) -> AuthzAnswer:
        """The answer from the request's parts: the certificate header's value, the proxy's
        URI header (None: not sent), our own path, ``Accept``; how many times the certificate
        and the URI header came (more than once: refused, never joined). The answer for the
        same parts is reused while its judgement holds (the judge's window for the chain)."""
        key = (certificate, uri, request_path, accept, header_count > 1, uri_count > 1)
        memo = self._memo.get(key)
        if memo is not None and memo[1] <= at < memo[2]:
            return memo[0]
        until = _FOREVER
        chain = (
            repeated_header(self.header, header_count)
            if header_count > 1
            else self._chain(certificate)
        )
        if isinstance(chain, Decision):
            decision = chain
        elif isinstance(chain, str):
            decision = malformed_header(chain)
        elif uri_count > 1:
            decision = _ambiguous(f"the proxy's URI header came {uri_count} times")
        else:
            path = uri if uri is not None else request_path
            decision, until = self._decide(path, uri is not None, chain, at)
        answer_key = (decision, "" if decision.allowed else accept)
        found = self._answers.get(answer_key)
        if found is None:
            found = _render(self.judge, decision, accept, self.generation)
            _remember(self._answers, answer_key, found, self.size)
        _remember(self._memo, key, (found, at, until), self.size)
        return found

    def _decide(
        self, path: str, proxied: bool, chain: tuple[bytes, ...], at: datetime
    ) -> tuple[Decision, datetime]:
        """The decision and the time it holds until, for the proxy's URI (``proxied``) or
        our own request path."""
        judged = _path_only(path) if proxied else judged_path({}, path, self.prefix, ())
        # the path is judged in its one canonical form (core.gate.request), as the gate judges
        # its own requests: /public/..%5corders is /orders, an ambiguous one is refused
        canonical = canonical_target(judged.encode("utf-8", "surrogatepass"))
        if isinstance(canonical, Refused):
            return _ambiguous(canonical.reason), _FOREVER
        judge = self.judge
        location = judge.policy.location_for(canonical.judged)
        if not chain or location.client_cert is ClientCertMode.IGNORE:
            return judge.decide(canonical.judged, chain, at), _FOREVER
        judgement, until = judge.judgement(chain, at)
        return judge.decide(canonical.judged, chain, at, judged=judgement), until

    def _chain(self, raw: str) -> tuple[bytes, ...] | str:
        """The chain in the header, or what is wrong with the header."""
        if self.fmt is HeaderFormat.CADDY and _CADDY_UNSET.fullmatch(raw.strip()):
            raw = ""  # Caddy leaves the placeholder as is when there is no client certificate
        found = self._chains.get(raw)
        if found is None:
            try:
                found = parse_forwarded_chain(self.fmt.parser, raw)
            except ValueError as exc:
                found = str(exc)
            _remember(self._chains, raw, found, self.size)
        return found


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any, size: int) -> None:
    cache[key] = value
    if len(cache) > size:
        cache.popitem(last=False)


def answer(
    judge: Judge,
    fmt: HeaderFormat,
    headers: Mapping[str, str],
    request_path: str,
    at: datetime,
    *,
    header: str | None = None,
    prefix: str = "",
    generation: int = 0,
) -> AuthzAnswer:
    """Allow (200 + identity headers) or deny (IIS-style status, reason and body).

    ``headers``: the auth request's headers, names in lower case (several values of one
    header joined with ``, ``). ``generation`` counts policy reloads: a proxy cache keyed on it
    (``Certgate-Policy-Generation``) never serves a verdict of an older policy.
    """
    once = Authorizer(judge, fmt, header=header, prefix=prefix, generation=generation, size=0)
    return once(headers, request_path, at)


def judge_target(judge: Judge, target: bytes, chain: Sequence[bytes], at: datetime) -> Decision:
    """The decision for a request target (undecoded) judged in its one canonical form
    (``core.gate.request``): what a proxy asks ``authz`` about, or the ASGI middleware sees."""
    canonical = canonical_target(target)
    if isinstance(canonical, Refused):
        return _ambiguous(canonical.reason)
    return judge.decide(canonical.judged, chain, at)


def _render(judge: Judge, decision: Decision, accept: str, generation: int) -> AuthzAnswer:
    common = (("Certgate-Policy-Generation", str(generation)), ("Cache-Control", "no-store"))
    if decision.allowed:
        allowed = (("Certgate-Status", decision.iis_status), *identity_headers(decision))
        return AuthzAnswer(200, (*allowed, *common), b"", decision)
    content_type, body = denial_body(decision, judge.policy.answer_format, accept)
    denied = (*denial_headers(decision), ("Content-Type", content_type))
    return AuthzAnswer(decision.status, (*denied, *common), body, decision)


def _ambiguous(problem: str) -> Decision:
    """403, not 400: proxies pass only 401/403 from an auth request on to the client."""
    reason = f"the original request's path is ambiguous: {problem}"
    return deny("403", "ambiguous-path", "iis:httperr-BadRequest", reason, "E_ACCESSDENIED")


def repeated_header(name: str, count: int) -> Decision:
    """403.16: the certificate header came more than once. Joined, the values would read as
    one chain (Traefik's and Envoy's formats are comma-separated lists), so a client's own
    header that a proxy appended to instead of replacing could add certificates to it."""
    return malformed_header(
        f"the {name} header came {count} times; exactly one is accepted (a proxy must replace "
        "a client's copy, not append to it)"
    )


def malformed_header(problem: str) -> Decision:
    """403.16: the proxy's client-certificate header could not be read."""
    return deny(
        "403.16",
        "CERT_E_MALFORMED",
        "hresult:CERT_E_MALFORMED",
        f"the proxy's client-certificate header could not be read: {problem}",
        "CERT_E_MALFORMED",
    )
