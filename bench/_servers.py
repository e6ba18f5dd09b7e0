"""What the server benchmarks share: the bench PKI and client identity, free loopback ports,
starting a server and waiting until it listens, stopping it, nginx configurations and their
command line, and timing one whole child process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certgate.gate.client import ClientIdentity
from certgate.testing import PKI, Issued, KeyType

POLICY = """
[trust]
engine = "windows"
[trust.stores]
Root = ["root.pem"]
CA = ["issuing.pem"]
"""
# nginx's side of every comparison: mTLS verified against the bench root, no resumption.
NGINX_MTLS = """        listen 127.0.0.1:{port} ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate {w}/server.pem;
        ssl_certificate_key {w}/server.key;
        ssl_client_certificate {w}/root.pem;
        ssl_verify_client on;
        ssl_verify_depth 3;
        ssl_session_cache off;
        ssl_session_tickets off;"""


def write_pki(work: Path) -> tuple[PKI, Issued]:
    """Root, issuing CA, ECDSA P-256 ``localhost`` server and an RSA client (with chain) in
    ``work``, and the gate policy trusting them (``gate.toml``); returns the PKI and its root."""
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
    return pki, root


def identity(cert: Path, key: Path) -> ClientIdentity:
    """A client identity from a PEM chain (leaf first) and its PEM key."""
    certs = x509.load_pem_x509_certificates(cert.read_bytes())
    private = serialization.load_pem_private_key(key.read_bytes(), None)
    return ClientIdentity(certs[0], private, tuple(certs[1:]))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes]) -> None:
    """Return once something accepts on 127.0.0.1:``port``; fail if ``process`` exits first."""
    for _ in range(400):
        if process.poll() is not None:
            raise RuntimeError("server exited before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def start(command: list[str], port: int, user: str | None = None) -> subprocess.Popen[bytes]:
    """Start a server (output discarded) and wait until it listens on ``port``."""
    process = subprocess.Popen(
        command, user=user, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_port(port, process)
    except BaseException:
        stop(process)
        raise
    return process


def start_gate(command: list[str]) -> subprocess.Popen[bytes]:
    """``certgate serve``, once it says it listens: with workers, the master's socket
    accepts (into its backlog) before the workers are ready."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    line = process.stderr.readline()
    if b"listening on" not in line:
        process.kill()
        raise RuntimeError(line.decode(errors="replace"))
    return process


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def gate_command(work: Path, port: int, *extra: str, policy: str = "gate.toml") -> list[str]:
    """``certgate serve`` with the bench policy, server certificate and key on ``port``."""
    return [sys.executable, "-m", "certgate", "serve", "--policy", str(work / policy),
            "--cert", str(work / "server.pem"), "--key", str(work / "server.key"),
            "--listen", f"127.0.0.1:{port}", *extra]  # fmt: skip


def nginx_binary() -> str | None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return nginx if Path(nginx).exists() else None


def nginx_user() -> str | None:
    """nginx as root switches to this user, which must read the (throwaway) files in work."""
    return "nobody" if os.geteuid() == 0 else None


def nginx_command(nginx: str, work: Path, config: Path) -> list[str]:
    return [nginx, "-p", str(work), "-c", str(config), "-g", "daemon off;"]


def nginx_config(work: Path, http: str, *, workers: int = 1, name: str = "nginx") -> str:
    """A foreground-friendly nginx configuration: everything it writes stays in ``work``, no
    access log, unlimited keep-alive requests; ``http`` is the rest of the ``http`` block."""
    return f"""
worker_processes {workers};
pid {work}/{name}.pid;
error_log {work}/{name}-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    keepalive_requests 1000000;
{http}
}}
"""


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by the live process ``pid`` and its live
    descendants (nginx's workers, ``certgate serve``'s workers), from /proc."""
    total = 0.0
    pending = [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        total += (int(fields[11]) + int(fields[12])) / tick
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
    return total


def timed(command: list[str]) -> tuple[float, float, int, bytes]:
    """(wall seconds, CPU seconds, peak RSS in bytes, stdout) of one whole child process."""
    start_time = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return time.perf_counter() - start_time, cpu, usage.ru_maxrss * 1024, output
