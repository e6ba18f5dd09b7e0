"""Probe 200 loopback endpoints: certgate vs. sslyze's client-authentication check.

One nginx serves 200 ports: a third without client auth, a third ``ssl_verify_client
optional``, a third ``on``. Both tools run in the same run, on a pool of the same number of
threads, with the same network timeout. sslyze pins ``cryptography<47``, so it lives in its
own virtualenv under bench/out/ (installed on the first run) and runs as a child process.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import venv
from collections import Counter
from pathlib import Path

from certgate.testing import PKI
from certgate.tls.probe import ProbeOptions, ProbeTarget, probe_many

COUNT = 200
CONCURRENCY = 20
TIMEOUT = 5.0  # sslyze's default network_timeout
OUT = Path(__file__).parent / "out" / "probe"
SSLYZE_VENV = Path(__file__).parent / "out" / "sslyze-venv"
KINDS = ("none", "optional", "required")
EXPECTED = {"none": "DISABLED", "optional": "OPTIONAL", "required": "REQUIRED"}
VERIFY = {
    "none": "",
    "optional": "ssl_verify_client optional; ssl_client_certificate {ca};",
    "required": "ssl_verify_client on; ssl_client_certificate {ca};",
}

_SSLYZE_RUN = r"""
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from sslyze import ServerNetworkConfiguration, ServerNetworkLocation
from sslyze.server_connectivity import check_connectivity_to_server

ports, concurrency, timeout = json.loads(sys.argv[1])

def one(port):
    try:
        result = check_connectivity_to_server(
            server_location=ServerNetworkLocation("localhost", port, ip_address="127.0.0.1"),
            network_configuration=ServerNetworkConfiguration(
                tls_server_name_indication="localhost", network_timeout=timeout
            ),
        )
        return result.client_auth_requirement.name
    except Exception as exc:
        return "ERROR " + type(exc).__name__

start = time.perf_counter()
with ThreadPoolExecutor(max_workers=concurrency) as pool:
    found = list(pool.map(one, ports))
print(json.dumps({"seconds": time.perf_counter() - start, "found": found}))
"""


def kind_of(index: int) -> str:
    return KINDS[index % len(KINDS)]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def nginx_config(ports: list[int]) -> Path:
    pki = PKI()
    root = pki.root("CN=Bench Probe Root,O=certgate bench")
    server = root.server("localhost")
    cert, key = server.write_pem(OUT / "server.pem"), server.write_key(OUT / "server.key")
    ca = root.write_pem(OUT / "root.pem")
    servers = "\n".join(
        f"  server {{ listen 127.0.0.1:{port} ssl; {VERIFY[kind_of(i)].format(ca=ca)}\n"
        '    location / { return 200 "ok\\n"; } }'
        for i, port in enumerate(ports)
    )
    user = "user nobody nogroup;" if os.geteuid() == 0 else ""
    config = OUT / "nginx.conf"
    config.write_text(
        f"worker_processes 1;\nerror_log {OUT}/error.log warn;\npid {OUT}/nginx.pid;\n{user}\n"
        "events { worker_connections 4096; }\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {OUT}/body;\n"
        f"  proxy_temp_path {OUT}/proxy;\n  fastcgi_temp_path {OUT}/fastcgi;\n"
        f"  uwsgi_temp_path {OUT}/uwsgi;\n  scgi_temp_path {OUT}/scgi;\n"
        f"  ssl_protocols TLSv1.2 TLSv1.3;\n  ssl_certificate {cert};\n"
        f"  ssl_certificate_key {key};\n{servers}\n}}\n"
    )
    return config


def start_nginx(ports: list[int]) -> subprocess.Popen[bytes]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    config = nginx_config(ports)
    process = subprocess.Popen(
        [binary, "-p", str(OUT), "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    for port in ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start; see {OUT}/error.log") from None
                time.sleep(0.05)
    return process


def sslyze_python() -> Path:
    python = SSLYZE_VENV / "bin" / "python"
    if not python.exists():
        print(f"installing sslyze into {SSLYZE_VENV} ...")
        venv.create(SSLYZE_VENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "sslyze"], check=True)
    return python


def run_sslyze(ports: list[int]) -> tuple[float, list[str], str]:
    python = sslyze_python()
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('sslyze'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    args = json.dumps([ports, CONCURRENCY, TIMEOUT])
    done = subprocess.run(
        [str(python), "-c", _SSLYZE_RUN, args], capture_output=True, text=True, check=True
    )
    report = json.loads(done.stdout)
    return float(report["seconds"]), list(report["found"]), version


def run_certgate(ports: list[int]) -> tuple[float, list[str]]:
    targets = [ProbeTarget.parse(f"localhost:{port}") for port in ports]
    options = ProbeOptions(timeout=TIMEOUT)
    start = time.perf_counter()
    found = [r.requirement.value for r in probe_many(targets, options, concurrency=CONCURRENCY)]
    return time.perf_counter() - start, found


def score(name: str, seconds: float, found: list[str]) -> None:
    wrong: Counter[str] = Counter()
    for index, verdict in enumerate(found):
        kind = kind_of(index)
        if verdict != EXPECTED[kind]:
            wrong[f"{kind}->{verdict}"] += 1
    optional = [f for i, f in enumerate(found) if kind_of(i) == "optional"]
    optional_ok = sum(1 for f in optional if f == "OPTIONAL")
    print(
        f"{name:<22} {seconds:7.2f}s  {len(found) / seconds:8.1f} targets/s  "
        f"OPTIONAL right {optional_ok}/{len(optional)}  "
        f"misclassified: {dict(wrong) or 'none'}"
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    ports = free_ports(COUNT)
    nginx = start_nginx(ports)
    try:
        ours = run_certgate(ports)
        theirs = run_sslyze(ports)
    finally:
        nginx.terminate()
        nginx.wait(timeout=20)
    mix = Counter(kind_of(i) for i in range(COUNT))
    print(
        f"{COUNT} nginx endpoints on 127.0.0.1 ({dict(mix)}), {CONCURRENCY} threads each, "
        f"timeout {TIMEOUT:g}s"
    )
    score("certgate (TLS 1.2+1.3)", *ours)
    score(f"sslyze {theirs[2]}", theirs[0], theirs[1])
    print(f"ratio: {ours[0] and theirs[0] / ours[0]:.1f}x sslyze's targets/s (goal >= 2x)")


if __name__ == "__main__":
    main()
