"""New mTLS connections/s, keep-alive requests/s and server CPU per keep-alive request:
``certgate serve`` against nginx.

Both servers: one process/worker (or ``WORKERS`` each) on loopback, the same server
certificate and key (ECDSA P-256), the same client chain (RSA-2048 leaf + intermediate), TLS
1.3, no session resumption, a small 200 answer. nginx verifies with ``ssl_verify_client on``
against the same root; the gate judges with the windows engine (the judgement cached per
chain). The same load generator drives both: ``CLIENTS`` processes with pyOpenSSL, each either
opening a new connection per request (``Connection: close``) or keeping
``KEEPALIVE_CONNECTIONS`` connections busy with one request in flight on each, for ``SECONDS``
each. Server CPU: the server process and its workers, from /proc, over the keep-alive run.
"""

from __future__ import annotations

import multiprocessing
import re
import shutil
import socket
import statistics
import sys
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
    start_gate,
    stop,
    tree_cpu,
    write_pki,
)
from certgate.gate.client import client_context

SECONDS = 5.0
ROUNDS = 3
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


def _rate(work: Path, port: int, keepalive: bool) -> tuple[float, int]:
    """(requests/s, requests) of one measurement."""
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
    return total / (deadline - start), total


CPU_METRIC = "server CPU us/keep-alive request"


def _measure(
    work: Path,
    command: list[str],
    port: int,
    user: str | None = None,
    *,
    also: int | None = None,
    gate: bool = False,
) -> dict[str, float]:
    """New connections/s, keep-alive requests/s, and the server's CPU (the process and its
    workers) per keep-alive request; ``also``: another process whose CPU per keep-alive
    request is reported too (``certgate authz`` behind nginx). ``gate``: the command is
    ``certgate serve``, measured once it says it listens (its workers are ready then)."""
    process = start_gate(command) if gate else start(command, port, user)
    try:
        figures = {"new connections/s": _rate(work, port, False)[0]}
        before = tree_cpu(process.pid), tree_cpu(also) if also else 0.0
        rate, count = _rate(work, port, True)
        after = tree_cpu(process.pid), tree_cpu(also) if also else 0.0
        figures["keep-alive requests/s"] = rate
        figures[CPU_METRIC] = (after[0] - before[0]) * 1e6 / max(1, count)
        if also:
            figures["authz CPU us/keep-alive request"] = (
                (after[1] - before[1]) * 1e6 / max(1, count)
            )
        return figures
    finally:
        stop(process)


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.gate [WORKERS...]``: each worker count (default 1) for both servers
    (``certgate serve --workers N``, nginx ``worker_processes N``), ``ROUNDS`` interleaved
    rounds, medians."""
    counts = [int(a) for a in argv or ()] or [1]
    nginx = nginx_binary()
    work = Path(tempfile.mkdtemp(prefix="certgate-bench-gate-"))
    work.chmod(0o777)
    try:
        write_pki(work)
        (work / "server.key").chmod(0o644)  # a throwaway key the unprivileged nginx must read
        for workers in counts:
            results: dict[str, dict[str, list[float]]] = {}
            for _ in range(ROUNDS):
                gate_port, nginx_port = free_port(), free_port()
                gate = gate_command(work, gate_port, "--workers", str(workers))
                _add(results, "certgate serve", _measure(work, gate, gate_port, gate=True))
                if nginx:
                    config = work / "nginx.conf"
                    mtls = NGINX_MTLS.format(w=work, port=nginx_port)
                    config.write_text(nginx_config(work, SERVER.format(mtls=mtls), workers=workers))
                    command = nginx_command(nginx, work, config)
                    _add(
                        results,
                        "nginx (ssl_verify_client on)",
                        _measure(work, command, nginx_port, nginx_user()),
                    )
            _report(workers, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _add(results: dict[str, dict[str, list[float]]], name: str, figures: dict[str, float]) -> None:
    for metric, value in figures.items():
        results.setdefault(name, {}).setdefault(metric, []).append(value)


def _report(workers: int, results: dict[str, dict[str, list[float]]]) -> None:
    print(
        f"{workers} worker(s) each; {CLIENTS} client processes, {SECONDS:.0f} s per "
        f"measurement, medians of {ROUNDS} interleaved rounds, TLS 1.3, loopback"
    )
    medians = {n: {m: statistics.median(v) for m, v in f.items()} for n, f in results.items()}
    baseline = medians.get("nginx (ssl_verify_client on)")
    for name, figures in medians.items():
        cells = []
        for metric, value in figures.items():
            ratio = (
                f" ({value / baseline[metric]:.2f}x nginx)"
                if baseline and name.startswith("certgate") and baseline[metric]
                else ""
            )
            cells.append(f"{metric}: {value:,.0f}{ratio}")
        print(f"  {name:30} " + "; ".join(cells))


if __name__ == "__main__":
    main(sys.argv[1:])
