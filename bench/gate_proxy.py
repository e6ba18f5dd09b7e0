"""Reverse-proxy throughput: ``certgate serve --upstream`` against nginx ``proxy_pass``.

The same plain-HTTP upstream (nginx ``return 200``, keep-alive) behind both front ends; each
front end terminates mTLS (TLS 1.3, the client chain of ``bench/gate.py``) and forwards over
HTTP/1.1 with kept upstream connections (nginx: ``keepalive 32``, ``proxy_http_version 1.1``).
The load generator and the measurements are ``bench/gate.py``'s; rounds interleave the two
front ends and the medians of ``ROUNDS`` are reported.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.gate import CLIENTS, SECONDS, _files, _free_port, _measure

ROUNDS = 3
UPSTREAM_CONF = """
worker_processes 1;
pid {w}/upstream.pid;
error_log {w}/upstream-error.log warn;
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
        listen 127.0.0.1:{port};
        location / {{ default_type application/json; return 200 '{{"ok": true}}\\n'; }}
    }}
}}
"""
FRONT_CONF = """
worker_processes 1;
pid {w}/front.pid;
error_log {w}/front-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {w}/body;
    proxy_temp_path {w}/proxy;
    fastcgi_temp_path {w}/fastcgi;
    uwsgi_temp_path {w}/uwsgi;
    scgi_temp_path {w}/scgi;
    keepalive_requests 1000000;
    upstream app {{ server 127.0.0.1:{upstream}; keepalive 32; }}
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
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-SSL-Client-S-DN $ssl_client_s_dn;
        }}
    }}
}}
"""


def main() -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        print("nginx is not installed: skipped")
        return
    work = Path(tempfile.mkdtemp(prefix="certgate-bench-proxy-"))
    work.chmod(0o777)
    user = "nobody" if os.geteuid() == 0 else None
    try:
        _files(work)
        (work / "server.key").chmod(0o644)
        upstream, gate_port, front_port = _free_port(), _free_port(), _free_port()
        (work / "upstream.conf").write_text(UPSTREAM_CONF.format(w=work, port=upstream))
        front = FRONT_CONF.format(w=work, port=front_port, upstream=upstream)
        (work / "front.conf").write_text(front)
        serve = [nginx, "-p", str(work), "-c", str(work / "upstream.conf"), "-g", "daemon off;"]
        backend = subprocess.Popen(serve, user=user, stderr=subprocess.DEVNULL)
        try:
            gate = [sys.executable, "-m", "certgate", "serve", "--policy", str(work / "gate.toml"),
                    "--cert", str(work / "server.pem"), "--key", str(work / "server.key"),
                    "--workers", "1", "--listen", f"127.0.0.1:{gate_port}",
                    "--upstream", f"http://127.0.0.1:{upstream}"]  # fmt: skip
            nginx_front = [nginx, "-p", str(work), "-c", str(work / "front.conf"),
                           "-g", "daemon off;"]  # fmt: skip
            rounds: dict[str, list[dict[str, float]]] = {"certgate serve --upstream": [],
                                                         "nginx proxy_pass": []}  # fmt: skip
            for _ in range(ROUNDS):
                rounds["certgate serve --upstream"].append(_measure(work, gate, gate_port))
                rounds["nginx proxy_pass"].append(_measure(work, nginx_front, front_port, user))
        finally:
            backend.terminate()
            backend.wait(15)
        _report(rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _report(rounds: dict[str, list[dict[str, float]]]) -> None:
    print(f"{CLIENTS} client processes, {SECONDS:.0f} s per measurement, TLS 1.3, loopback, "
          f"median of {ROUNDS} interleaved rounds")  # fmt: skip
    medians = {
        name: {metric: statistics.median(r[metric] for r in runs) for metric in runs[0]}
        for name, runs in rounds.items()
    }
    baseline = medians["nginx proxy_pass"]
    for name, figures in medians.items():
        cells = [
            f"{metric}: {value:,.0f}"
            + (f" ({value / baseline[metric]:.2f}x nginx)" if name.startswith("certgate") else "")
            for metric, value in figures.items()
        ]
        print(f"{name:28} " + "; ".join(cells))
