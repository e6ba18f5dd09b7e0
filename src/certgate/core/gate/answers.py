"""How a decision goes on the wire: denial bodies and headers, identity headers upstream.

A denial says what IIS would log (status.substatus, HRESULT), why, and the id ``certgate
explain`` takes. It names the client's certificate and public CA names only: never the
server's key, files or configuration.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from html import escape
from typing import Final, Literal, TypedDict
from urllib.parse import quote

from certgate.core.gate.decision import Decision
from certgate.core.gate.mapping import SanType, san_values
from certgate.core.gate.policy import AnswerFormat
from certgate.core.kb import describe, knowledge_base

__all__ = [
    "IDENTITY_PREFIX",
    "STRIPPED_HEADERS",
    "denial_body",
    "denial_headers",
    "header_safe",
    "identity_headers",
    "is_forwarding_header",
]

IDENTITY_PREFIX = "certgate-"
# Headers that carry client-certificate facts in common proxies: a client must never set them.
STRIPPED_HEADERS = frozenset(
    {
        "x-forwarded-client-cert",  # Envoy XFCC
        "x-forwarded-tls-client-cert",  # Traefik
        "x-forwarded-tls-client-cert-info",
        "x-ssl-client-cert",  # common nginx recipes
        "x-ssl-client-verify",
        "x-ssl-client-s-dn",
        "x-ssl-client-i-dn",
        "ssl-client-cert",
        "x-client-cert",
        "x-client-certificate",
        "x-arr-clientcert",  # IIS ARR / Azure App Service
        "remote-user",
        "x-remote-user",
    }
)
_REASON_MAX = 300
_REASONS = {401: "Unauthorized", 403: "Forbidden"}


def is_forwarding_header(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(IDENTITY_PREFIX) or lowered in STRIPPED_HEADERS


def header_safe(text: str, limit: int = _REASON_MAX) -> str:
    """One line of printable ASCII: header values must not carry CR/LF or raw UTF-8."""
    cleaned = "".join(ch if " " <= ch <= "~" else "?" for ch in " ".join(text.split()))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


def denial_headers(decision: Decision) -> list[tuple[str, str]]:
    return [
        ("Certgate-Reason", header_safe(decision.reason)),
        ("Certgate-Status", decision.iis_status),
        ("Certgate-HRESULT", decision.hresult_hex),
        ("Certgate-Explain", decision.explain),
    ]


DENIAL_SCHEMA: Final = "certgate.denial/1"


class DeniedCertificate(TypedDict):
    subject: str
    issuer: str
    sha1: str


class Source(TypedDict):
    text: str
    url: str


class DenialFacts(TypedDict):
    """What a denial says (the HTML page shows it too)."""

    status: int
    substatus: int
    iis_status: str
    code: str
    hresult: str
    win32_status: int
    reason: str
    explain: str
    explanation: str | None
    explain_command: str
    sources: list[Source]
    caveats: list[str]
    certificate: DeniedCertificate | None


class DenialDocument(DenialFacts):
    """The JSON denial body: ``certgate.denial/1`` (docs/schemas/denial-1.json)."""

    schema: Literal["certgate.denial/1"]


def denial_document(decision: Decision) -> DenialFacts:
    cert = decision.certificate
    return {
        "status": decision.status,
        "substatus": decision.substatus,
        "iis_status": decision.iis_status,
        "code": decision.code,
        "hresult": decision.hresult_hex,
        "win32_status": decision.win32_status,
        "reason": decision.reason,
        "explain": decision.explain,
        "explanation": describe(decision.explain),
        "explain_command": f"certgate explain {decision.explain}",
        "sources": _sources(decision.explain),
        "caveats": list(decision.caveats),
        "certificate": None
        if cert is None
        else {"subject": str(cert.subject), "issuer": str(cert.issuer), "sha1": cert.sha1},
    }


def _sources(kb_id: str) -> list[Source]:
    """The public sources behind the explanation (KB articles, RFCs, Microsoft docs), each
    with a URL a reader can open; the project's own docs are left to ``certgate explain``."""
    entry = knowledge_base().get(kb_id)
    if entry is None:
        return []
    return [{"text": r.text, "url": r.url} for r in entry.references if r.url is not None]


def denial_body(decision: Decision, fmt: AnswerFormat, accept: str = "") -> tuple[str, bytes]:
    """(content type, body). AUTO picks HTML when the client asks for text/html first."""
    document = denial_document(decision)
    if fmt is AnswerFormat.HTML or (fmt is AnswerFormat.AUTO and _wants_html(accept)):
        return "text/html; charset=utf-8", _html(decision, document).encode()
    full: DenialDocument = {"schema": DENIAL_SCHEMA, **document}
    body = json.dumps(full, indent=2)
    return "application/json", body.encode() + b"\n"


def _wants_html(accept: str) -> bool:
    first = accept.split(",", maxsplit=1)[0].strip().lower()
    return first.startswith("text/html")


def _html(decision: Decision, document: Mapping[str, object]) -> str:
    rows = "".join(
        f"<tr><th>{escape(key)}</th><td>{escape(str(document[key]))}</td></tr>"
        for key in ("iis_status", "code", "hresult", "win32_status", "explain")
    )
    caveats = "".join(f"<li>{escape(c)}</li>" for c in decision.caveats)
    sources = ", ".join(
        f"<a href='{escape(s['url'])}' rel='noreferrer'>{escape(s['text'])}</a>"
        for s in _sources(decision.explain)
    )
    title = f"{decision.status} {_REASONS.get(decision.status, '')}".strip()
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{escape(title)} ({escape(decision.iis_status)})</h1>"
        f"<p>{escape(decision.reason)}</p>"
        f"<p>{escape(str(document['explanation'] or ''))}</p><table>{rows}</table>"
        f"{'<ul>' + caveats + '</ul>' if caveats else ''}"
        f"<p>Explain: <code>certgate explain {escape(decision.explain)}</code></p>"
        f"{'<p>Sources: ' + sources + '</p>' if sources else ''}"
        "</body></html>\n"
    )


def identity_headers(decision: Decision) -> list[tuple[str, str]]:
    """What the upstream (or WSGI app) learns about an allowed client."""
    cert = decision.certificate
    headers = [("Certgate-Client-Verify", "SUCCESS" if cert is not None else "NONE")]
    if decision.identity is not None and decision.mapping is not None:
        headers.append(("Certgate-Identity", header_safe(decision.identity, 1024)))
        headers.append(("Certgate-Identity-Rule", header_safe(decision.mapping.rule)))
    if cert is None:
        return headers
    headers += [
        ("Certgate-Client-Subject", header_safe(str(cert.subject), 2048)),
        ("Certgate-Client-Issuer", header_safe(str(cert.issuer), 2048)),
        ("Certgate-Client-Sha1", cert.sha1),
        ("Certgate-Client-Sha256", cert.sha256),
        ("Certgate-Client-Serial", cert.serial_hex),
        ("Certgate-Client-Not-After", cert.not_after.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("Certgate-Client-Cert", quote(cert_pem(cert.der), safe="")),
    ]
    for kind, values in san_values(cert).items():
        if values and kind is not SanType.SPIFFE:
            headers.append((f"Certgate-Client-San-{kind.value}", header_safe(",".join(values))))
    return headers


def cert_pem(der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
