"""What the gate accepts from a client before judging it: one canonical path, headers that
cannot be confused, and the headers an upstream gets.

- **Path**: the request target is decoded once; ``\\`` and ``%5C`` are ``/`` (as IIS/HTTP.sys
  treat them); ``.``/``..`` are resolved and empty segments merged. Refused with 400: anything
  but an origin-form target, a bad or double escape (``%25`` followed by two hex digits, IIS
  ``allowDoubleEscaping=false``), a decoded control character or NUL, bytes that are not
  UTF-8, ``..`` above the root, ``;`` parameters on ``.``/``..`` (Tomcat's ``..;/``), and
  segments Windows would rename (a trailing dot or blank, ``::$DATA``). The path the location
  rules judge is the path the upstream receives, re-encoded.
- **Headers**: names compare as every backend will (case-insensitive, ``_`` == ``-``, as WSGI
  and CGI fold them). Client headers whose names hold ``_`` are dropped (nginx's and Apache's
  default), and so is every header the gate owns or a proxy would (``Certgate-*``, the
  certificate headers of other proxies, ``Forwarded``, ``X-Forwarded-*``, ``X-Real-IP``, IIS's
  ``X-Original-URL``), unless the client is a trusted proxy (then its forwarding headers
  stay and the gate appends to them).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from certgate.core.gate.answers import is_forwarding_header

__all__ = [
    "CONNECTION_HEADERS",
    "HOP_BY_HOP",
    "Refused",
    "Target",
    "canonical_target",
    "client_header_kept",
    "forwarded_headers",
    "header_key",
    "hop_by_hop",
    "is_trusted",
    "screen_headers",
]

# RFC 9110 §7.6.1 / RFC 9112: meaningful for one connection only, requests and answers alike.
CONNECTION_HEADERS = frozenset(
    {
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
        "upgrade", "http2-settings",
    }
)  # fmt: skip
# ... and what a request's connection, framing or target carries: never forwarded upstream
# (the gate writes its own Host and framing).
HOP_BY_HOP = CONNECTION_HEADERS | {"proxy-authorization", "expect", "content-length", "host"}
# Headers saying who the client is or what it asked for: the gate (or a trusted proxy) sets them.
FORWARDING = frozenset(
    {
        "forwarded", "x-real-ip", "x-client-ip", "true-client-ip", "x-cluster-client-ip",
        "cf-connecting-ip", "x-original-url", "x-rewrite-url", "x-original-forwarded-for",
        "x-original-uri", "x-original-host",
    }
)  # fmt: skip
_PCHAR_SAFE = "!$&'()*+,;=:@-._~"  # RFC 3986 pchar besides unreserved and pct-encoded
_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=-]*)(?::[0-9]{1,5})?")
_METHODS_REFUSED = frozenset({b"CONNECT", b"TRACE", b"TRACK"})


@dataclass(frozen=True)
class Refused:
    """The request is not served: ``status`` and a one-line reason for the client."""

    status: int
    reason: str


@dataclass(frozen=True)
class Target:
    """The canonical request target."""

    path: str  # decoded, normalised (``;`` parameters kept)
    wire: str  # the same path re-encoded, plus the query: what the upstream receives
    query: str

    @property
    def judged(self) -> str:
        """What the location rules match: ``path`` without ``;`` parameters, as Tomcat-style
        servers resolve ``/orders;x`` to ``/orders`` (stricter, never looser)."""
        if ";" not in self.path:
            return self.path
        return "/".join(segment.split(";", 1)[0] for segment in self.path.split("/"))


def canonical_target(raw: bytes) -> Target | Refused:
    """Decode once, resolve, refuse the ambiguous (see the module docstring)."""
    raw_path, sep, query = raw.partition(b"?")
    if not raw_path.startswith(b"/"):
        return Refused(400, "only origin-form request targets (/path) are accepted")
    if b"#" in raw:
        return Refused(400, "a request target must not hold a fragment (#)")
    if _BAD_ESCAPE.search(raw_path):
        return Refused(400, "the path holds a % that is not a two-digit escape")
    decoded = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw_path)
    if _ESCAPE.search(decoded):
        return Refused(400, "the path is escaped twice (%25XX), as IIS refuses by default")
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return Refused(400, "the decoded path is not UTF-8")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        return Refused(400, "the decoded path holds a control character or NUL")
    segments = _resolve(text.replace("\\", "/").split("/"))
    if isinstance(segments, Refused):
        return segments
    path = "/" + "/".join(segments)
    wire = "/" + "/".join(quote(s, safe=_PCHAR_SAFE) for s in segments)
    query_text = query.decode("ascii", "replace")
    return Target(path, wire + (("?" + query_text) if sep else ""), query_text)


def _resolve(parts: list[str]) -> list[str] | Refused:
    resolved: list[str] = []
    last = len(parts) - 1
    for index, segment in enumerate(parts):
        name = segment.split(";", 1)[0]
        if name in (".", "..") and name != segment:
            return Refused(400, "a path parameter on . or .. (..;/) is ambiguous")
        if segment == "..":
            if not resolved:
                return Refused(400, "the path climbs above the root")
            resolved.pop()
        elif segment in ("", "."):
            if index == last and index > 0:
                resolved.append("")  # keep a trailing slash
        elif segment.endswith((".", " ")) or "::$" in segment:
            return Refused(400, "a path segment ends in a dot or blank, or names a stream")
        else:
            resolved.append(segment)
    while len(resolved) > 1 and resolved[-1] == "" and resolved[-2] == "":
        resolved.pop()
    return resolved


def header_key(name: str) -> str:
    """The name every backend compares: case-insensitive, ``_`` and ``-`` alike."""
    return name.strip().lower().replace("_", "-")


def hop_by_hop(connection_values: Iterable[str]) -> frozenset[str]:
    """The fixed hop-by-hop set plus every name the ``Connection`` header lists."""
    named = {header_key(n) for value in connection_values for n in value.split(",") if n.strip()}
    return HOP_BY_HOP | named


def is_forwarding(key: str) -> bool:
    return key in FORWARDING or key.startswith("x-forwarded-")


def client_header_kept(name: str) -> bool:
    """Whether a client's header may reach the backend as it is. Forwarding headers never
    do: the gate writes them (``forwarded_headers``), from a trusted proxy's values."""
    if "_" in name:
        return False
    key = header_key(name)
    return not (is_forwarding_header(key) or is_forwarding(key))


def screen_headers(
    method: bytes, version: bytes, headers: Sequence[tuple[str, str]]
) -> Refused | None:
    """Framing and Host rules a request must pass before anything else looks at it."""
    if method.upper() in _METHODS_REFUSED:
        return Refused(405, f"method {method.decode('ascii', 'replace')} is not served")
    hosts = [value for name, value in headers if name.lower() == "host"]
    if len(hosts) > 1:
        return Refused(400, "more than one Host header")
    if not hosts and version == b"HTTP/1.1":
        return Refused(400, "an HTTP/1.1 request needs a Host header")
    if hosts and not _HOST.fullmatch(hosts[0]):
        return Refused(400, "the Host header is not a host[:port]")
    encodings = [value for name, value in headers if name.lower() == "transfer-encoding"]
    if encodings and version != b"HTTP/1.1":
        return Refused(400, "Transfer-Encoding is not allowed in HTTP/1.0 (RFC 9112 §6.1)")
    if encodings and [e.strip().lower() for e in encodings] != ["chunked"]:
        return Refused(400, "the only Transfer-Encoding accepted is one 'chunked'")
    return None


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_trusted(client: str, trusted: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in network for network in trusted)


def forwarded_headers(
    client: str, host: str | None, *, trusted: bool, previous: dict[str, list[str]]
) -> list[tuple[str, str]]:
    """``Forwarded``, ``X-Forwarded-For/-Proto/-Host`` and ``X-Real-IP`` for the upstream.

    ``previous`` holds the client's own forwarding headers by ``header_key``; they count only
    when the client is a trusted proxy: its chain is kept and the gate appends the proxy."""
    node = f'"[{client}]"' if ":" in client else client
    element = f"for={node};proto=https" + (f';host="{host}"' if host else "")
    kept = previous if trusted else {}
    headers = [
        ("Forwarded", ", ".join([*kept.get("forwarded", []), element])),
        ("X-Forwarded-For", ", ".join([*kept.get("x-forwarded-for", []), client])),
    ]
    for name, key, own in (
        ("X-Forwarded-Proto", "x-forwarded-proto", "https"),
        ("X-Forwarded-Host", "x-forwarded-host", host),
        ("X-Real-IP", "x-real-ip", client),
    ):
        value = kept[key][0] if kept.get(key) else own
        if value:
            headers.append((name, value))
    return headers
