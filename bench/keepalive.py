"""HTTP/1.0 keep-alive (``ab -k``): ``certgate serve`` against nginx, 1 then 2 workers each.

``ab`` (Debian's apache2-utils) speaks HTTP/1.0 with ``Connection: Keep-Alive`` and cannot
present a client certificate, so both servers answer ``/`` without asking for one (the gate's
location ``client_cert = "ignore"``; nginx without ``ssl_verify_client``): what is measured is
the HTTP/1.0 persistence and the per-request cost, not the handshake. Same server certificate,
TLS 1.3, 8 concurrent connections, ``SECONDS`` per run, interleaved, medians of ``ROUNDS``.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._servers import (
    free_port,
    gate_command,
    nginx_binary,
    nginx_command,
    nginx_config,
    nginx_user,
    start,
    start_gate,
    stop,
    write_pki,
)

ROUNDS = 3
SECONDS = 4
SERVER = """
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_protocols TLSv1.3;
        ssl_certificate {w}/server.pem;
        ssl_certificate_key {w}/server.key;
        location / {{ default_type application/json; return 200 '{{"ok": true}}\\n'; }}
    }}"""
POLICY = """
[trust.stores]
Root = ["root.pem"]
[[location]]
path = "/"
client_cert = "ignore"
"""


def _ab(port: int) -> tuple[float, int]:
    """(requests/s, keep-alive requests) of one ``ab -k`` run."""
    done = subprocess.run(
        ["ab", "-k", "-q", "-c", "8", "-t", str(SECONDS), "-n", "10000000",
         f"https://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=SECONDS + 60, check=False,
    )  # fmt: skip
    rate = re.search(r"Requests per second:\s+([\d.]+)", done.stdout)
    kept = re.search(r"Keep-Alive requests:\s+(\d+)", done.stdout)
    if rate is None:
        raise RuntimeError(done.stdout[-500:] + done.stderr[-500:])
    return float(rate.group(1)), int(kept.group(1)) if kept else 0


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.keepalive [WORKERS...]``: each worker count (default 1 and 2) for
    both servers (``certgate serve --workers N``, nginx ``worker_processes N``)."""
    counts = [int(a) for a in argv or ()] or [1, 2]
    for workers in counts:
        _compare(workers)


def _compare(workers: int) -> None:
    nginx = nginx_binary()
    if not shutil.which("ab") or not nginx:
        print("  skipped: needs ab (apache2-utils) and nginx")
        return
    work = Path(tempfile.mkdtemp(prefix="certgate-bench-keepalive-"))
    work.chmod(0o777)
    try:
        write_pki(work)
        (work / "server.key").chmod(0o644)
        (work / "ignore.toml").write_text(POLICY)
        runs: dict[str, list[tuple[float, int]]] = {"certgate serve": [], "nginx": []}
        # the servers keep the 2 cores busy: ab and the judge share them
        for _ in range(ROUNDS):
            port = free_port()
            gate = start_gate(
                gate_command(work, port, "--workers", str(workers), policy="ignore.toml")
            )
            try:
                runs["certgate serve"].append(_ab(port))
            finally:
                stop(gate, 20)
            port = free_port()
            config = work / "nginx.conf"
            config.write_text(nginx_config(work, SERVER.format(w=work, port=port), workers=workers))
            server = start(nginx_command(nginx, work, config), port, nginx_user())
            try:
                runs["nginx"].append(_ab(port))
            finally:
                stop(server, 20)
        print(
            f"{workers} worker(s) each: ab -k -c 8, {SECONDS} s per run, medians of {ROUNDS} "
            "interleaved rounds, TLS 1.3"
        )
        base = statistics.median(r[0] for r in runs["nginx"])
        for name, results in runs.items():
            rate = statistics.median(r[0] for r in results)
            kept = statistics.median(r[1] for r in results)
            ratio = rate / base
            print(
                f"  {name:16} {rate:10,.0f} requests/s ({ratio:.2f}x nginx), {kept:,.0f} kept alive"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
