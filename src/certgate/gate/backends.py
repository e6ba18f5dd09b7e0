"""What an allowed request reaches: the built-in identity echo, an upstream
(``certgate.gate.upstream``), or a WSGI app.

Every backend first drops whatever certificate, identity or forwarding headers the client
sent, and every header with ``_`` in its name (``core.gate.request.client_header_kept``),
then adds the gate's own.
"""

from __future__ import annotations

import importlib
import io
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final, Literal, Protocol, TypedDict
from urllib.parse import unquote

from twisted.web.server import NOT_DONE_YET
from twisted.web.wsgi import WSGIResource

from certgate.core.gate.answers import identity_headers
from certgate.core.gate.decision import Decision, allow
from certgate.core.gate.request import HOP_BY_HOP, client_header_kept, header_key, hop_by_hop
from certgate.errors import UsageError
from certgate.gate._twisted import reactor
from certgate.gate.http1 import HttpRequest
from certgate.gate.upstream import UpstreamProxy

__all__ = ["Backend", "IdentityEcho", "UpstreamProxy", "WsgiApp", "load_wsgi_app"]

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Backend(Protocol):
    # True: ``serve`` is called as soon as the headers are in and the body follows as it
    # arrives; False: once the whole request (body buffered) is in.
    streams_body: bool

    def serve(self, request: Any, decision: Decision) -> None: ...


def _replace_identity_headers(request: HttpRequest, decision: Decision) -> None:
    headers = request.requestHeaders
    connection = [v.decode("latin-1") for v in headers.getRawHeaders(b"connection", [])]
    named = hop_by_hop(connection) - HOP_BY_HOP  # what the client's Connection lists
    for name, _ in list(headers.getAllRawHeaders()):
        text = name.decode("latin-1")
        if not client_header_kept(text) or header_key(text) in named:
            headers.removeHeader(name)
    for header, value in identity_headers(decision):
        headers.setRawHeaders(header, [value])


def _canonical_path(request: HttpRequest) -> str:
    target = getattr(request, "target", None)
    return str(target.path) if target is not None else request.path.decode("latin-1")


IDENTITY_SCHEMA: Final = "certgate.identity/1"


class IdentityFacts(TypedDict):
    schema: Literal["certgate.identity/1"]
    identity: str | None
    rule: str | None
    subject: str | None
    issuer: str | None
    sha1: str | None


class IdentityDocument(IdentityFacts):
    """IdentityEcho's body, ``certgate.identity/1``: the facts, then the path the gate judged."""

    path: str


def identity_facts(decision: Decision) -> IdentityFacts:
    cert = decision.certificate
    return {
        "schema": IDENTITY_SCHEMA,
        "identity": decision.identity,
        "rule": decision.mapping.rule if decision.mapping else None,
        "subject": str(cert.subject) if cert else None,
        "issuer": str(cert.issuer) if cert else None,
        "sha1": cert.sha1 if cert else None,
    }


class IdentityEcho:
    """The default backend: 200 with who the client is, as JSON (tests, demo, benchmark)."""

    streams_body = False

    def __init__(self) -> None:
        self._facts: dict[int, tuple[Decision, str]] = {}  # per cached decision
        self._anonymous = json.dumps(identity_facts(allow(None, None)))[1:-1]

    def serve(self, request: HttpRequest, decision: Decision) -> None:
        path = json.dumps(_canonical_path(request))
        body = f'{{{self._describe(decision)}, "path": {path}}}\n'.encode()
        request.respond(200, ((b"Content-Type", b"application/json"),), body)

    def _describe(self, decision: Decision) -> str:
        if decision.certificate is None and decision.mapping is None:
            return self._anonymous  # no certificate asked or sent: the same facts for all
        known = self._facts.get(id(decision))
        if known is not None and known[0] is decision:
            return known[1]
        facts = json.dumps(identity_facts(decision))[1:-1]
        if len(self._facts) > 4096:
            self._facts.clear()
        self._facts[id(decision)] = (decision, facts)
        return facts


class WsgiApp:
    """Hosts a WSGI app on the reactor's thread pool; the identity is in the environ:
    ``certgate.identity``, ``certgate.client`` (every fact), ``REMOTE_USER``, and Apache-style
    ``SSL_CLIENT_VERIFY``/``SSL_CLIENT_S_DN``/``SSL_CLIENT_I_DN``/``SSL_CLIENT_CERT`` (PEM, as
    mod_ssl gives it). ``PATH_INFO`` is the canonical path the gate judged."""

    streams_body = False

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        pool = reactor.getThreadPool()
        self.resource = WSGIResource(reactor, pool, self._wrapped)

    def serve(self, request: HttpRequest, decision: Decision) -> None:
        if request.content is None:
            request.content = io.BytesIO()  # no body: wsgi.input is empty
        _replace_identity_headers(request, decision)
        request.prepath = []
        request.postpath = [s.encode() for s in _canonical_path(request).split("/")[1:]]
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
        if "SSL_CLIENT_CERT" in environ:  # the header is URL-encoded; mod_ssl gives PEM
            environ["SSL_CLIENT_CERT"] = unquote(environ["SSL_CLIENT_CERT"])
        return self.app(environ, start_response)


def load_wsgi_app(spec: str) -> WSGIApplication:
    """``module:callable`` (``module:factory()`` calls a factory), imported from the current
    directory first, as gunicorn and uvicorn do."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise UsageError(f"--app must be module:callable, not {spec!r}")
    here = str(Path.cwd())
    if here not in sys.path:
        sys.path.insert(0, here)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or the module's own error while importing
        raise UsageError(f"--app {spec}: cannot import {module_name}: {exc}") from exc
    call = attribute.endswith("()")
    target = getattr(module, attribute.removesuffix("()"), None)
    if target is None or not callable(target):
        raise UsageError(f"--app {spec}: {module_name} has no callable {attribute!r}")
    app: WSGIApplication = target() if call else target
    return app
