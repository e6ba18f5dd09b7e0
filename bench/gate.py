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
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL

from certgate.gate.client import ClientIdentity, client_context
from certgate.testing import PKI, KeyType

SECONDS = 5.0
CLIENTS = 2
KEEPALIVE_CONNECTIONS = 8  # per client process, one request in flight on each
NGINX_CONF = """
worker_processes 1;
pid {w}/nginx.pid;
error_log {w}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {w}/body;
    proxy_temp_path {w}/proxy;
    fastcgi_temp_path {w}/fastcgi;
    uwsgi_temp_path {w}/uwsgi;
    scgi_temp_path {w}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate {w}/server.pem;
        ssl_certificate_key {w}/server.key;
        ssl_client_certificate {w}/root.pem;
        ssl_verify_client on;
        ssl_verify_depth 3;
        ssl_session_cache off;
        ssl_session_tickets off;
        location / {{
            default_type application/json;
            return 200 '{{"subject": "$ssl_client_s_dn"}}\\n';
        }}
    }}
}}
"""
POLICY = """
[trust]
engine = "windows"
[trust.stores]
Root = ["root.pem"]
CA = ["issuing.pem"]
"""


def _files(work: Path) -> None:
    pki = PKI()
    root = pki.root("CN=Bench Root CA")
    issuing = root.intermediate("CN=Bench Issuing CA", path_length=0)
    server = root.server("localhost", key=KeyType.P256)
    client = issuing.client("CN=bench client")
    root.write_pem(work / "root.pem")
    issuing.write_pem(work / "issuing.pem")
    server.write_pem(work / "server.pem")
    server.write_key(work / "server.key")
    client.write_pem(work / "client.pem", chain=True)
    client.write_key(work / "client.key")
    (work / "gate.toml").write_text(POLICY)


def _identity(work: Path) -> ClientIdentity:
    certs = x509.load_pem_x509_certificates((work / "client.pem").read_bytes())
    key = serialization.load_pem_private_key((work / "client.key").read_bytes(), None)
    return ClientIdentity(certs[0], key, tuple(certs[1:]))


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
    context = client_context(_identity(Path(work)), "1.3")
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


def _wait_port(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        if process.poll() is not None:
            raise RuntimeError("server exited before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _measure(
    work: Path, command: list[str], port: int, user: str | None = None
) -> dict[str, float]:
    process = subprocess.Popen(
        command, user=user, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_port(port, process)
        return {
            "new connections/s": _rate(work, port, False),
            "keep-alive requests/s": _rate(work, port, True),
        }
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def main() -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    work = Path(tempfile.mkdtemp(prefix="certgate-bench-gate-"))
    work.chmod(0o777)
    try:
        _files(work)
        (work / "server.key").chmod(0o644)  # a throwaway key the unprivileged nginx must read
        gate_port, nginx_port = _free_port(), _free_port()
        (work / "nginx.conf").write_text(NGINX_CONF.format(w=work, port=nginx_port))
        gate = [sys.executable, "-m", "certgate", "serve", "--policy", str(work / "gate.toml"),
                "--cert", str(work / "server.pem"), "--key", str(work / "server.key"),
                "--workers", "1", "--listen", f"127.0.0.1:{gate_port}"]  # fmt: skip
        results = {"certgate serve": _measure(work, gate, gate_port)}
        if Path(nginx).exists():
            command = [nginx, "-p", str(work), "-c", str(work / "nginx.conf"), "-g", "daemon off;"]
            user = "nobody" if os.geteuid() == 0 else None
            results["nginx (ssl_verify_client on)"] = _measure(work, command, nginx_port, user)
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
