"""Helpers for the gate tests: client identities from the test PKI, policies, curl."""

from __future__ import annotations

import json
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import h11
from OpenSSL import SSL

from certgate.core.gate.policy import Policy
from certgate.core.stores import CA, ROOT, Machine
from certgate.gate.backends import Backend
from certgate.gate.client import ClientIdentity, client_context
from certgate.gate.config import GateConfig, LogSettings, parse_policy
from certgate.gate.runner import RunningGate, running_gate
from certgate.testing import PKI, Issued


def identity(issued: Issued) -> ClientIdentity:
    """The certificate, its key and the intermediates a client sends with it."""
    chain = tuple(c.x509 for c in issued.chain()[1:])
    return ClientIdentity(issued.x509, issued.key, chain)


def write_client(issued: Issued, folder: Path, name: str = "client") -> tuple[Path, Path]:
    cert = issued.write_pem(folder / f"{name}.pem", chain=True)
    return cert, issued.write_key(folder / f"{name}.key")


def machine(roots: list[Issued], cas: list[Issued] = ()) -> Machine:  # type: ignore[assignment]
    return (
        Machine()
        .adding(ROOT, [r.certificate for r in roots])
        .adding(CA, [c.certificate for c in cas])
    )


def config(document: dict[str, Any], base: Path, machine: Machine | None = None) -> GateConfig:
    parsed = parse_policy(document, base=base)
    if machine is None:
        return parsed
    settings = parsed.policy.machine  # the file's trust settings, these stores
    merged = machine.with_schannel(settings.schannel).with_bindings(settings.bindings)
    policy: Policy = parsed.policy.with_machine(merged)
    return GateConfig(policy, parsed.logs, parsed.crl_files)


@contextmanager
def gate(cfg: GateConfig, now: datetime, backend: Backend | None = None) -> Iterator[RunningGate]:
    with running_gate(cfg, backend=backend, clock=lambda: now, grace=1.0) as running:
        yield running


def curl(
    url: str,
    *args: str,
    cert: tuple[Path, Path] | None = None,
    version: str | None = None,
) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) as curl saw them; the server certificate is not checked.
    Deadlines are generous (a loaded CI machine starts curl and does its handshake slowly)
    but end: an answer normally takes milliseconds, so they only bound a hang."""
    command = ["curl", "-sk", "--max-time", "60", "-D", "-", url, *args]
    if cert is not None:
        command += ["--cert", str(cert[0]), "--key", str(cert[1])]
    if version is not None:
        command += [f"--tlsv{version}", "--tls-max", version]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    head, _, body = done.stdout.partition("\n\n")  # text mode: CRLF is already \n
    lines = head.split("\n")
    if not lines[0].startswith("HTTP/"):
        raise AssertionError(f"curl got no response: exit {done.returncode} {done.stderr}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def raw_exchange(
    url: str,
    data: bytes | Callable[[SSL.Connection], None],
    client: ClientIdentity | None = None,
    timeout: float = 10.0,
) -> bytes:
    """Send raw bytes (or let ``data`` write on the connection) and return everything the
    gate sends until it closes (``b""`` if it closed without a word)."""
    parts = urlsplit(url)
    raw = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    raw.settimeout(None)
    whole = int(timeout)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", whole, 0))
    connection = SSL.Connection(client_context(client), raw)
    connection.set_connect_state()
    try:
        connection.do_handshake()
        if callable(data):
            data(connection)
        else:
            connection.sendall(data)
        chunks = []
        while True:
            try:
                chunk = connection.recv(65536)
            except SSL.WantReadError:
                raise AssertionError(f"the gate kept the connection open {timeout} s") from None
            except (SSL.ZeroReturnError, SSL.SysCallError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        connection.close()
        raw.close()


def statuses(answer: bytes) -> list[int]:
    """The status codes of every response in ``answer`` (pipelined ones included)."""
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3})", answer)]


@dataclass
class Seen:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]


@dataclass
class RecordingUpstream:
    """An HTTP/1.1 upstream parsed with h11 (uvicorn's parser): it records every request it
    sees, the raw bytes of every connection, and answers 200 with a small JSON body."""

    url: str = ""
    requests: list[Seen] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    connections: int = 0


@contextmanager
def recording_upstream() -> Iterator[RecordingUpstream]:
    record = RecordingUpstream()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        parser = h11.Connection(h11.SERVER)
        received = bytearray()
        current: dict[str, Any] = {}
        conn.settimeout(5)
        try:
            while not stop.is_set():
                event = parser.next_event()
                if event is h11.NEED_DATA:
                    data = conn.recv(65536)
                    received += data
                    parser.receive_data(data)
                    if not data:
                        return
                elif isinstance(event, h11.Request):
                    current = {
                        "method": event.method.decode(),
                        "target": event.target.decode(),
                        "headers": [(k.decode(), v.decode("latin-1")) for k, v in event.headers],
                        "body": b"",
                    }
                elif isinstance(event, h11.Data):
                    current["body"] += bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    record.requests.append(Seen(**current))
                    body = json.dumps({"n": len(record.requests)}).encode()
                    headers = [
                        ("content-type", "application/json"),
                        ("content-length", str(len(body))),
                    ]
                    conn.sendall(parser.send(h11.Response(status_code=200, headers=headers)))
                    conn.sendall(parser.send(h11.Data(data=body)) + parser.send(h11.EndOfMessage()))
                    parser.start_next_cycle()
                else:
                    return
        except (OSError, h11.ProtocolError):
            return
        finally:
            record.raw.append(bytes(received))
            conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            record.connections += 1
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    record.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        yield record
    finally:
        stop.set()
        thread.join(5)
        listener.close()


__all__ = [
    "PKI",
    "LogSettings",
    "RecordingUpstream",
    "Seen",
    "config",
    "curl",
    "gate",
    "identity",
    "machine",
    "raw_exchange",
    "recording_upstream",
    "statuses",
    "write_client",
]


async def recording_app(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI upstream for uvicorn: each request it sees is appended, as one JSON line, to
    the file named by CERTGATE_RECORD; it answers 200."""
    import os

    if scope["type"] != "http":
        return
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    record = {
        "method": scope["method"],
        "target": scope["raw_path"].decode("latin-1")
        + ("?" + scope["query_string"].decode("latin-1") if scope["query_string"] else ""),
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
        "body": size,
    }
    with Path(os.environ["CERTGATE_RECORD"]).open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"3")]}
    )
    await send({"type": "http.response.body", "body": b"ok\n"})


@contextmanager
def authz_process(policy: Path, *extra: str) -> Iterator[int]:
    """``certgate authz`` on a free loopback port (``extra``: more arguments, e.g. ``--proxy``)."""
    command = [sys.executable, "-m", "certgate", "authz", "--policy", str(policy), *extra]
    process = subprocess.Popen(
        [*command, "--listen", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        yield int(match.group(1))
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
