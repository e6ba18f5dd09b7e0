"""The gate keeps HTTP/1.0 connections alive when asked (``ab -k``, old clients), HTTP/1.1 ones
unless told to close, and closes when an HTTP/1.0 answer has no length to frame it."""

from __future__ import annotations

import re
import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from OpenSSL import SSL

from certgate.gate.client import ClientIdentity, client_context
from certgate.gate.runner import RunningGate
from certgate.testing import PKI
from gate_support import config, gate, identity, machine

POLICY = {"location": [{"path": "/", "client_cert": "accept"}]}


@contextmanager
def tls(running: RunningGate, client: ClientIdentity | None) -> Iterator[SSL.Connection]:
    raw = socket.create_connection(("127.0.0.1", running.port), timeout=10)
    raw.settimeout(None)  # blocking for pyOpenSSL; a stuck read still ends after 10 s
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 10, 0))
    connection = SSL.Connection(client_context(client), raw)
    connection.set_connect_state()
    connection.do_handshake()
    try:
        yield connection
    finally:
        raw.close()


def exchange(connection: SSL.Connection, request: bytes) -> tuple[int, dict[str, str]]:
    connection.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        body += connection.recv(65536)
    return int(lines[0].split()[1]), headers


def closed(connection: SSL.Connection) -> bool:
    try:
        return connection.recv(1) == b""
    except (SSL.ZeroReturnError, SSL.SysCallError):
        return True


def test_http10_keep_alive_and_http11_persistence(pki: PKI, tmp_path: Path, now: datetime) -> None:
    root = pki.root("CN=Keepalive Root")
    alice = identity(root.client("CN=alice"))
    cfg = config(POLICY, tmp_path, machine([root]))
    keep = b"GET /a HTTP/1.0\r\nHost: gate\r\nConnection: Keep-Alive\r\n\r\n"
    with gate(cfg, now) as running:
        with tls(running, alice) as connection:
            for _ in range(3):  # one connection, three HTTP/1.0 requests
                status, headers = exchange(connection, keep)
                assert status == 200
                assert headers["connection"].lower() == "keep-alive"
                assert re.fullmatch(r"\d+", headers["content-length"])
            status, headers = exchange(connection, b"GET /b HTTP/1.0\r\nHost: gate\r\n\r\n")
            assert status == 200 and headers.get("connection", "close").lower() == "close"
            assert closed(connection)
        with tls(running, alice) as connection:
            for _ in range(2):
                assert exchange(connection, b"GET /c HTTP/1.1\r\nHost: gate\r\n\r\n")[0] == 200
            close = b"GET /d HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n"
            assert exchange(connection, close)[1]["connection"] == "close"
            assert closed(connection)
