"""Client certificates forwarded by a TLS-terminating proxy, read from its header.

- nginx: ``proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;`` the leaf as
  URL-encoded PEM (nginx has no variable for the chain the client sent).
- Envoy: ``x-forwarded-client-cert`` (XFCC): ``;``-separated ``key=value`` pairs, elements
  separated by ``,`` (one per proxy hop; the last is the nearest proxy's); ``Cert`` and
  ``Chain`` are URL-encoded PEM, values may be double-quoted.
- Traefik: ``X-Forwarded-Tls-Client-Cert`` (passTLSClientCert ``pem: true``): each
  certificate's base64 DER without PEM delimiters or line breaks, URL-escaped, ``,``-separated.

Parsers return the DER chain, leaf first, or raise ``ValueError`` with what was wrong.
"""

from __future__ import annotations

import base64
import binascii
import re
from enum import StrEnum
from urllib.parse import unquote

__all__ = ["HEADERS", "ProxyKind", "parse_forwarded_chain", "pem_blocks"]

MAX_HEADER_CHARS = 64 * 1024


class ProxyKind(StrEnum):
    NGINX = "nginx"
    ENVOY = "envoy"
    TRAEFIK = "traefik"


HEADERS = {
    ProxyKind.NGINX: "x-ssl-client-cert",
    ProxyKind.ENVOY: "x-forwarded-client-cert",
    ProxyKind.TRAEFIK: "x-forwarded-tls-client-cert",
}
_PEM = re.compile(
    r"-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----", re.ASCII
)


def parse_forwarded_chain(kind: ProxyKind, value: str) -> tuple[bytes, ...]:
    if len(value) > MAX_HEADER_CHARS:
        raise ValueError(f"{HEADERS[kind]} is over {MAX_HEADER_CHARS} characters")
    text = value.strip()
    if not text or text == "-":
        return ()
    if kind is ProxyKind.NGINX:
        return pem_blocks(unquote(text))
    if kind is ProxyKind.ENVOY:
        return _xfcc(text)
    return tuple(_b64(part) for part in unquote(text).split(",") if part.strip())


def pem_blocks(text: str) -> tuple[bytes, ...]:
    blocks = _PEM.findall(text)
    if not blocks:
        raise ValueError("no PEM certificate in the header")
    return tuple(_b64(block) for block in blocks)


def _b64(text: str) -> bytes:
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"certificate is not valid base64: {exc}") from None
    if not der:
        raise ValueError("empty certificate")
    return der


def _xfcc(text: str) -> tuple[bytes, ...]:
    elements = _split(text, ",")
    pairs = dict(_pair(item) for item in _split(elements[-1], ";") if item.strip())
    if "chain" in pairs:
        return pem_blocks(unquote(pairs["chain"]))
    if "cert" in pairs:
        return pem_blocks(unquote(pairs["cert"]))
    return ()


def _pair(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep:
        raise ValueError(f"XFCC element {item[:40]!r} is not key=value")
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"')
    return key.strip().lower(), value


def _split(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside double quotes (backslash escapes a quote)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    if quoted:
        raise ValueError("unbalanced quotes in XFCC")
    parts.append("".join(current))
    return parts
