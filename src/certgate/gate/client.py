"""A small mTLS HTTP/1.1 client on pyOpenSSL: presents any certificate chain, trusts nothing
by default. For the live demo, the tests and the benchmark; not a general HTTP client."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from OpenSSL import SSL

from certgate.tls.connection import Credentials

__all__ = ["ClientIdentity", "Response", "client_context", "fetch", "request_bytes"]


# What a client presents: the probe's credentials type, under the gate's name for it.
ClientIdentity = Credentials


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def client_context(identity: ClientIdentity | None, version: str | None = None) -> SSL.Context:
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    if version is not None:
        wanted = {"1.2": SSL.TLS1_2_VERSION, "1.3": SSL.TLS1_3_VERSION}[version]
        context.set_min_proto_version(wanted)
        context.set_max_proto_version(wanted)
    if identity is not None:
        identity.present(context)
    return context


def request_bytes(
    method: str, path: str, host: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def fetch(
    url: str,
    identity: ClientIdentity | None = None,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    version: str | None = None,
    timeout: float = 10.0,
    source: str | None = None,
) -> Response:
    """One request on a fresh connection (from the local address ``source`` when given);
    the server certificate is not checked."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 443
    bind = (source, 0) if source else None
    raw = socket.create_connection((host, port), timeout=timeout, source_address=bind)
    raw.settimeout(None)  # pyOpenSSL on a socket with a timeout raises WantRead (deps §2)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(timeout))
    connection = SSL.Connection(client_context(identity, version), raw)
    connection.set_connect_state()
    connection.set_tlsext_host_name(host.encode())
    try:
        connection.do_handshake()
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.sendall(request_bytes(method, path, parts.netloc, headers, body))
        return _parse(_read_all(connection))
    finally:
        connection.close()
        raw.close()


def _timeval(seconds: float) -> bytes:
    whole = int(seconds)
    return struct.pack("ll", whole, int((seconds - whole) * 1e6))


def _read_all(connection: SSL.Connection) -> bytes:
    chunks = []
    while True:
        try:
            data = connection.recv(65536)
        except (SSL.ZeroReturnError, SSL.SysCallError):
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def _parse(raw: bytes) -> Response:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/"):
        raise ConnectionError(f"no HTTP response (got {raw[:60]!r})")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return Response(status, headers, body)


def _dechunk(data: bytes) -> bytes:
    out: list[bytes] = []
    position = 0
    while True:
        end = data.find(b"\r\n", position)
        if end < 0:
            raise ConnectionError("truncated chunked body")
        size = int(data[position:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[end + 2 : end + 2 + size])
        position = end + 2 + size + 2
