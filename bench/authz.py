"""nginx + ``certgate authz`` against plain nginx with ``ssl_verify_client on``.

The same nginx (1 worker), certificates, client chain and load generator as ``bench/gate.py``
(pyOpenSSL client processes; "new connections" = one mTLS connection per request, "keep-alive"
= 8 connections per process, one request in flight on each). Contenders, interleaved, medians
of ``ROUNDS`` rounds of ``SECONDS`` each:

- nginx verifies (``ssl_verify_client on``), serves ``empty_gif``;
- nginx requests the certificate (``optional_no_ca``), asks ``certgate authz`` with
  ``auth_request`` over a keep-alive upstream, then serves ``empty_gif``;
- the same with nginx caching certgate's answer per (certificate, path) for 10 s
  (docs/proxies.md, "Caching the answer").
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench._servers import (
    free_port,
    nginx_binary,
    nginx_command,
    nginx_config,
    nginx_user,
    start,
    stop,
    write_pki,
)
from bench.gate import _measure

ROUNDS = 3
HTTP = """
    proxy_cache_path {w}/authz-cache keys_zone=certgate_authz:1m max_size=10m inactive=60s;
    upstream certgate_authz {{ server 127.0.0.1:{authz}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate {w}/server.pem;
        ssl_certificate_key {w}/server.key;
        ssl_session_cache off;
        ssl_session_tickets off;
{tls}
        location = /_authz {{
            internal;
            proxy_pass http://certgate_authz;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
{cache}
        }}
        location / {{
{auth}
            empty_gif;
        }}
    }}"""
VERIFY = """        ssl_client_certificate {w}/root.pem;
        ssl_verify_client on;
        ssl_verify_depth 3;"""
OPTIONAL = "        ssl_verify_client optional_no_ca;"
AUTH = """            auth_request /_authz;
            auth_request_set $certgate_identity $upstream_http_certgate_client_subject;
            add_header X-Client $certgate_identity;"""
CACHE = """            proxy_cache certgate_authz;
            proxy_cache_key "$ssl_client_fingerprint $uri";
            proxy_cache_valid 200 401 403 10s;
            proxy_ignore_headers Cache-Control;"""


def _config(work: Path, port: int, authz: int, name: str) -> Path:
    path = work / f"nginx-{name}.conf"
    verify = name == "verify"
    http = HTTP.format(
        w=work,
        port=port,
        authz=authz,
        tls=(VERIFY if verify else OPTIONAL).format(w=work),
        auth="" if verify else AUTH,
        cache=CACHE if name == "cached" else "",
    )
    path.write_text(nginx_config(work, http))
    return path


def main() -> None:
    nginx = nginx_binary()
    if not nginx:
        print("  skipped: nginx is not installed")
        return
    work = Path(tempfile.mkdtemp(prefix="certgate-bench-authz-"))
    work.chmod(0o777)
    try:
        write_pki(work)
        (work / "server.key").chmod(0o644)  # a throwaway key the unprivileged nginx must read
        authz_port = free_port()
        authz = start(
            [sys.executable, "-m", "certgate", "authz", "--policy", str(work / "gate.toml"),
             "--listen", f"127.0.0.1:{authz_port}"],
            authz_port,
        )  # fmt: skip
        user = nginx_user()
        names = {
            "verify": "nginx ssl_verify_client on",
            "authz": "nginx + certgate authz",
            "cached": "nginx + certgate authz, nginx cache",
        }
        results: dict[str, dict[str, list[float]]] = {n: {} for n in names}
        try:
            for _ in range(ROUNDS):
                for name in names:
                    port = free_port()
                    command = nginx_command(nginx, work, _config(work, port, authz_port, name))
                    also = None if name == "verify" else authz.pid
                    measured = _measure(work, command, port, user, also=also)
                    for metric, value in measured.items():
                        results[name].setdefault(metric, []).append(value)
        finally:
            stop(authz)
        print(f"medians of {ROUNDS} interleaved rounds, nginx 1 worker, loopback, TLS 1.3")
        base = {m: statistics.median(v) for m, v in results["verify"].items()}
        for name, label in names.items():
            cells = []
            for metric, values in results[name].items():
                value = statistics.median(values)
                ratio = f" ({value / base[metric]:.2f}x)" if base.get(metric) else ""
                cells.append(f"{metric} {value:,.0f}{ratio}")
            print(f"  {label:38} " + "; ".join(cells))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
