"""What an allowed request reaches: the built-in identity echo, an upstream, or a WSGI app.

Every backend first drops whatever certificate or identity headers the client sent
(``Certgate-*`` and the common proxy names, ``answers.STRIPPED_HEADERS``), then adds the
gate's own.
"""

from __future__ import annotations

import importlib
import io
import json
from collections.abc import Callable, Iterable
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

from twisted.internet import protocol
from twisted.python import failure
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool
from twisted.web.iweb import IResponse
from twisted.web.server import NOT_DONE_YET, Request
from twisted.web.wsgi import WSGIResource

from certgate.core.gate.answers import identity_headers, is_forwarding_header
from certgate.core.gate.decision import Decision
from certgate.errors import UsageError
from certgate.gate._twisted import reactor

__all__ = ["Backend", "IdentityEcho", "UpstreamProxy", "WsgiApp", "load_wsgi_app"]

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Backend(Protocol):
    def serve(self, request: Request, decision: Decision) -> None: ...


def _replace_identity_headers(request: Request, decision: Decision) -> None:
    headers = request.requestHeaders
    for name, _ in list(headers.getAllRawHeaders()):
        if is_forwarding_header(name.decode("latin-1")):
            headers.removeHeader(name)
    for header, value in identity_headers(decision):
        headers.setRawHeaders(header, [value])


class IdentityEcho:
    """The default backend: 200 with who the client is, as JSON (tests, demo, benchmark)."""

    def __init__(self) -> None:
        self._facts: dict[int, tuple[Decision, str]] = {}  # per cached decision

    def serve(self, request: Request, decision: Decision) -> None:
        path = json.dumps(request.path.decode("latin-1"))
        body = f'{{{self._describe(decision)}, "path": {path}}}\n'.encode()
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"content-length", str(len(body)).encode())
        request.write(body)
        request.finish()

    def _describe(self, decision: Decision) -> str:
        known = self._facts.get(id(decision))
        if known is not None and known[0] is decision:
            return known[1]
        cert = decision.certificate
        facts = json.dumps(
            {
                "schema": "certgate.identity/1",
                "identity": decision.identity,
                "rule": decision.mapping.rule if decision.mapping else None,
                "subject": str(cert.subject) if cert else None,
                "issuer": str(cert.issuer) if cert else None,
                "sha1": cert.sha1 if cert else None,
            }
        )[1:-1]
        if len(self._facts) > 4096:
            self._facts.clear()
        self._facts[id(decision)] = (decision, facts)
        return facts


class UpstreamProxy:
    """Reverse proxy to ``http://host:port/prefix`` with the identity in headers (Twisted's
    ``Agent`` with a connection pool; the response streams back as it arrives)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise UsageError(f"--upstream must be an http:// URL with a host, not {url!r}")
        self.base = f"http://{parts.netloc}{parts.path.rstrip('/')}".encode()
        self.netloc = parts.netloc.encode()
        self.agent = Agent(reactor, pool=HTTPConnectionPool(reactor), connectTimeout=30)
        self.url = url

    def serve(self, request: Request, decision: Decision) -> None:
        _replace_identity_headers(request, decision)
        headers = request.requestHeaders.copy()
        for hop in _HOP_BY_HOP:
            headers.removeHeader(hop)
        client = getattr(request.getClientAddress(), "host", "")
        forwarded = b", ".join(headers.getRawHeaders(b"x-forwarded-for", []))
        headers.setRawHeaders(
            b"x-forwarded-for", [(forwarded + b", " if forwarded else b"") + client.encode()]
        )
        headers.setRawHeaders(b"x-forwarded-proto", [b"https"])
        host = request.getHeader(b"host")
        if host:
            headers.setRawHeaders(b"x-forwarded-host", [host])
        headers.setRawHeaders(b"host", [self.netloc])
        assert request.content is not None
        request.content.seek(0)
        body = request.content.read()
        producer: Any = FileBodyProducer(io.BytesIO(body)) if body else None
        sent = self.agent.request(request.method, self.base + request.uri, headers, producer)
        gone: list[bool] = []  # the client went away: nothing more to write
        request.notifyFinish().addErrback(lambda _: gone.append(True))
        sent.addCallbacks(
            lambda r: _relay(request, r, gone), lambda f: _bad_gateway(request, f, gone)
        )


_HOP_BY_HOP = (b"connection", b"keep-alive", b"te", b"trailer", b"upgrade", b"proxy-connection")


def _relay(request: Request, response: IResponse, gone: list[bool]) -> None:
    request.setResponseCode(response.code, response.phrase)
    for name, values in response.headers.getAllRawHeaders():
        if name.lower() not in _HOP_BY_HOP and name.lower() != b"transfer-encoding":
            request.responseHeaders.setRawHeaders(name, values)
    cast(Any, response).deliverBody(_Relay(request, gone))


class _Relay(protocol.Protocol):
    def __init__(self, request: Request, gone: list[bool]) -> None:
        self.request = request
        self.gone = gone

    def dataReceived(self, data: bytes) -> None:
        if not self.request.finished and not self.gone:
            self.request.write(data)

    def connectionLost(self, reason: failure.Failure = protocol.connectionDone) -> None:
        if not self.request.finished and not self.gone:
            self.request.finish()


def _bad_gateway(request: Request, reason: failure.Failure, gone: list[bool]) -> None:
    if request.finished or gone:
        return
    body = b"502 Bad Gateway: the upstream could not be reached\n"
    request.setResponseCode(502)
    request.setHeader(b"content-type", b"text/plain")
    request.setHeader(b"content-length", str(len(body)).encode())
    request.write(body)
    request.finish()


class WsgiApp:
    """Hosts a WSGI app on the reactor's thread pool; the identity is in the environ:
    ``certgate.identity``, ``certgate.client`` (every fact), ``REMOTE_USER``, and Apache-style
    ``SSL_CLIENT_VERIFY``/``SSL_CLIENT_S_DN``/``SSL_CLIENT_I_DN``/``SSL_CLIENT_CERT``."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        pool = reactor.getThreadPool()
        self.resource = WSGIResource(reactor, pool, self._wrapped)

    def serve(self, request: Request, decision: Decision) -> None:
        _replace_identity_headers(request, decision)
        request.prepath = []
        request.postpath = request.path.split(b"/")[1:]
        result = self.resource.render(request)
        assert result == NOT_DONE_YET

    def _wrapped(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        facts = {
            key[len("HTTP_CERTGATE_") :]: environ.pop(key)
            for key in [k for k in environ if k.startswith("HTTP_CERTGATE_")]
        }
        environ["certgate.identity"] = facts.get("IDENTITY")
        environ["certgate.client"] = facts
        environ["SSL_CLIENT_VERIFY"] = facts.get("CLIENT_VERIFY", "NONE")
        for source, target in (
            ("IDENTITY", "REMOTE_USER"),
            ("CLIENT_SUBJECT", "SSL_CLIENT_S_DN"),
            ("CLIENT_ISSUER", "SSL_CLIENT_I_DN"),
            ("CLIENT_CERT", "SSL_CLIENT_CERT"),
        ):
            if source in facts:
                environ[target] = facts[source]
        return self.app(environ, start_response)


def load_wsgi_app(spec: str) -> WSGIApplication:
    """``module:callable`` (``module:factory()`` calls a factory)."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise UsageError(f"--app must be module:callable, not {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"--app {spec}: cannot import {module_name}: {exc}") from exc
    call = attribute.endswith("()")
    target = getattr(module, attribute.removesuffix("()"), None)
    if target is None or not callable(target):
        raise UsageError(f"--app {spec}: {module_name} has no callable {attribute!r}")
    app: WSGIApplication = target() if call else target
    return app
