"""New mTLS connections/s and keep-alive requests/s: ``certgate serve`` against nginx.

Both servers: one process/worker on loopback, the same server certificate and key (ECDSA
P-256), the same client chain (RSA-2048 leaf + intermediate), TLS 1.3, no session resumption,
a small 200 answer. nginx verifies with ``ssl_verify_client on`` against the same root; the
gate judges with the windows engine (the judgement cached per chain). The same load
generator drives both: ``CLIENTS`` processes with pyOpenSSL, each either opening a new
connection per request (``Connection: close``) or keeping ``KEEPALIVE_CONNECTIONS``
connections busy with one request in flight on each, for ``SECONDS`` each.
"""

from __future__ import annotations

import multiprocessing
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path

from OpenSSL import SSL

from bench._servers import (
    NGINX_MTLS,
    free_port,
    gate_command,
    identity,
    nginx_binary,
    nginx_command,
    nginx_config,
    nginx_user,
    start,
    stop,
    write_pki,
)
from certgate.gate.client import client_context

SECONDS = 5.0
CLIENTS = 2
KEEPALIVE_CONNECTIONS = 8  # per client process, one request in flight on each
SERVER = """
    server {{
{mtls}
        location / {{
            default_type application/json;
            return 200 '{{"subject": "$ssl_client_s_dn"}}\\n';
        }}
    }}"""


def _connect(context: SSL.Context, port: int) -> tuple[socket.socket, SSL.Connection]:
    raw = socket.create_connection(("127.0.0.1", port))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    connection = SSL.Connection(context, raw)
    connection.set_connect_state()
    connection.do_handshake()
    return raw, connection


def _response(connection: SSL.Connection) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += connection.recv(65536)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.decode("latin-1"))
    return body


def _load(
    work: str,
    port: int,
    keepalive: bool,
    deadline: float,
    out: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    folder = Path(work)
    context = client_context(identity(folder / "client.pem", folder / "client.key"), "1.3")
    count = 0
    if keepalive:
        pairs = [_connect(context, port) for _ in range(KEEPALIVE_CONNECTIONS)]
        request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
        while time.monotonic() < deadline:
            for _, connection in pairs:
                connection.sendall(request)
            for _, connection in pairs:
                _response(connection)
            count += len(pairs)
        for raw, _ in pairs:
            raw.close()
    else:
        request = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
        while time.monotonic() < deadline:
            raw, connection = _connect(context, port)
            connection.sendall(request)
            _response(connection)
            connection.shutdown()
            raw.close()
            count += 1
    out.put(count)


def _rate(work: Path, port: int, keepalive: bool) -> float:
    queue: multiprocessing.Queue[int] = multiprocessing.Queue()
    start = time.monotonic() + 0.5
    deadline = start + SECONDS
    workers = [
        multiprocessing.Process(target=_load, args=(str(work), port, keepalive, deadline, queue))
        for _ in range(CLIENTS)
    ]
    for worker in workers:
        worker.start()
    total = sum(queue.get(timeout=SECONDS + 60) for _ in workers)
    for worker in workers:
        worker.join(10)
    return total / (deadline - start)


def _measure(
    work: Path, command: list[str], port: int, user: str | None = None
) -> dict[str, float]:
    process = start(command, port, user)
    try:
        return {
            "new connections/s": _rate(work, port, False),
            "keep-alive requests/s": _rate(work, port, True),
        }
    finally:
        stop(process)


def main() -> None:
    nginx = nginx_binary()
    work = Path(tempfile.mkdtemp(prefix="certgate-bench-gate-"))
    work.chmod(0o777)
    try:
        write_pki(work)
        (work / "server.key").chmod(0o644)  # a throwaway key the unprivileged nginx must read
        gate_port, nginx_port = free_port(), free_port()
        config = work / "nginx.conf"
        mtls = NGINX_MTLS.format(w=work, port=nginx_port)
        config.write_text(nginx_config(work, SERVER.format(mtls=mtls)))
        gate = gate_command(work, gate_port, "--workers", "1")
        results = {"certgate serve": _measure(work, gate, gate_port)}
        if nginx:
            command = nginx_command(nginx, work, config)
            results["nginx (ssl_verify_client on)"] = _measure(
                work, command, nginx_port, nginx_user()
            )
        _report(results)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _report(results: dict[str, dict[str, float]]) -> None:
    print(f"{CLIENTS} client processes, {SECONDS:.0f} s per measurement, TLS 1.3, loopback")
    baseline = results.get("nginx (ssl_verify_client on)")
    for name, figures in results.items():
        cells = []
        for metric, value in figures.items():
            ratio = (
                f" ({value / baseline[metric]:.2f}x nginx)"
                if baseline and name.startswith("certgate")
                else ""
            )
            cells.append(f"{metric}: {value:,.0f}{ratio}")
        print(f"{name:32} " + "; ".join(cells))
