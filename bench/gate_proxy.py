"""Reverse-proxy throughput: ``certgate serve --upstream`` against nginx ``proxy_pass``.

The same plain-HTTP upstream (nginx ``return 200``, keep-alive) behind both front ends; each
front end terminates mTLS (TLS 1.3, the client chain of ``bench/gate.py``) and forwards over
HTTP/1.1 with kept upstream connections (nginx: ``keepalive 32``, ``proxy_http_version 1.1``).
The load generator and the measurements are ``bench/gate.py``'s; rounds interleave the two
front ends and the medians of ``ROUNDS`` are reported.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path

from bench._servers import (
    NGINX_MTLS,
    free_port,
    gate_command,
    nginx_binary,
    nginx_command,
    nginx_config,
    nginx_user,
    start,
    stop,
    write_pki,
)
from bench.gate import CLIENTS, SECONDS, _measure

ROUNDS = 3
UPSTREAM = """
    server {{
        listen 127.0.0.1:{port};
        location / {{ default_type application/json; return 200 '{{"ok": true}}\\n'; }}
    }}"""
FRONT = """
    upstream app {{ server 127.0.0.1:{upstream}; keepalive 32; }}
    server {{
{mtls}
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-SSL-Client-S-DN $ssl_client_s_dn;
        }}
    }}"""


def main() -> None:
    nginx = nginx_binary()
    if not nginx:
        print("nginx is not installed: skipped")
        return
    work = Path(tempfile.mkdtemp(prefix="certgate-bench-proxy-"))
    work.chmod(0o777)
    user = nginx_user()
    try:
        write_pki(work)
        (work / "server.key").chmod(0o644)
        upstream, gate_port, front_port = free_port(), free_port(), free_port()
        upstream_conf, front_conf = work / "upstream.conf", work / "front.conf"
        upstream_conf.write_text(
            nginx_config(work, UPSTREAM.format(port=upstream), name="upstream")
        )
        front = FRONT.format(mtls=NGINX_MTLS.format(w=work, port=front_port), upstream=upstream)
        front_conf.write_text(nginx_config(work, front, name="front"))
        backend = start(nginx_command(nginx, work, upstream_conf), upstream, user)
        try:
            gate = gate_command(work, gate_port, "--workers", "1",
                                "--upstream", f"http://127.0.0.1:{upstream}")  # fmt: skip
            nginx_front = nginx_command(nginx, work, front_conf)
            rounds: dict[str, list[dict[str, float]]] = {"certgate serve --upstream": [],
                                                         "nginx proxy_pass": []}  # fmt: skip
            for _ in range(ROUNDS):
                rounds["certgate serve --upstream"].append(
                    _measure(work, gate, gate_port, gate=True)
                )
                rounds["nginx proxy_pass"].append(_measure(work, nginx_front, front_port, user))
        finally:
            stop(backend)
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
