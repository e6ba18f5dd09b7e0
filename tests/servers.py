"""Real TLS servers for the tests: openssl s_server, nginx, Apache httpd, Caddy and HAProxy.

Each runs in the foreground as a child of the test, on 127.0.0.1 and a free port, with its
configuration, pid file and logs in the test's temporary folder; it is stopped on exit.
nginx and Apache start as the current user; as root they drop their workers to nobody.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["apache", "caddy", "free_ports", "haproxy", "need", "nginx", "running", "s_server"]

_APACHE_MODULES = Path("/usr/lib/apache2/modules")


def need(binary: str) -> str:
    """The binary's path; a skip locally, a failure in CI (.ci/run installs them)."""
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{binary} is not installed (.ci/run should install it)")
        pytest.skip(f"{binary} is not installed")
    return found


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _wait(ports: Sequence[int], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    pending = list(ports)
    while pending:
        if process.poll() is not None:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"server exited with {process.returncode}: {text[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not listening on {pending} after 15 s")
        try:
            socket.create_connection(("127.0.0.1", pending[0]), timeout=0.5).close()
            pending.pop(0)
        except OSError:
            time.sleep(0.05)


@contextmanager
def running(
    command: list[str], ports: Sequence[int], log: Path, env: dict[str, str] | None = None
) -> Iterator[None]:
    """Run ``command`` until the block ends; ready once every port accepts connections."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        _wait(ports, process, log)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def s_server(folder: Path, cert: Path, key: Path, *options: str) -> Iterator[int]:
    """``openssl s_server -www`` with the given client-auth options."""
    (port,) = free_ports(1)
    command = [need("openssl"), "s_server", "-accept", f"127.0.0.1:{port}", "-www", "-quiet"]
    command += ["-cert", str(cert), "-key", str(key), *options]
    with running(command, [port], folder / f"s_server-{port}.log"):
        yield port


_NGINX = """worker_processes 1;
error_log {dir}/error.log info;
pid {dir}/nginx.pid;
{user}
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_certificate {cert};
  ssl_certificate_key {key};
  default_type text/plain;
{servers}
}}
"""


@contextmanager
def nginx(folder: Path, cert: Path, key: Path, servers: Sequence[str]) -> Iterator[list[int]]:
    """One nginx with a server block per entry (its ``listen`` is added); returns the ports."""
    folder.mkdir(parents=True, exist_ok=True)
    ports = free_ports(len(servers))
    blocks = "\n".join(
        f"  server {{\n    listen 127.0.0.1:{port} ssl;\n{body}\n  }}"
        for port, body in zip(ports, servers, strict=True)
    )
    config = folder / "nginx.conf"
    user = "user nobody nogroup;" if os.geteuid() == 0 else ""
    config.write_text(_NGINX.format(dir=folder, cert=cert, key=key, servers=blocks, user=user))
    command = [need("nginx"), "-p", str(folder), "-c", str(config), "-g", "daemon off;"]
    with running(command, ports, folder / "error.log"):
        yield ports


_APACHE = """ServerRoot {dir}
Listen 127.0.0.1:{port}
LoadModule mpm_prefork_module {modules}/mod_mpm_prefork.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule ssl_module {modules}/mod_ssl.so
LoadModule dir_module {modules}/mod_dir.so
{user}
PidFile {dir}/httpd.pid
ErrorLog {dir}/error.log
LogLevel warn
DefaultRuntimeDir {dir}
Mutex file:{dir}
DocumentRoot {www}
DirectoryIndex index.html
ServerName localhost
SSLEngine on
SSLCertificateFile {cert}
SSLCertificateKeyFile {key}
SSLCACertificateFile {ca}
SSLVerifyDepth 5
{locations}
"""


@contextmanager
def apache(folder: Path, cert: Path, key: Path, ca: Path, locations: str) -> Iterator[int]:
    """Apache httpd (``-X``: one process); ``locations`` holds per-path ``SSLVerifyClient``.

    Per-directory client auth is what makes Apache renegotiate (TLS 1.2) or ask after the
    handshake (TLS 1.3), the way IIS does per path.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (port,) = free_ports(1)
    user = "User nobody\nGroup nogroup" if os.geteuid() == 0 else ""
    # The document root must be readable by the worker user: not inside pytest's 0700 tree.
    www = Path(tempfile.mkdtemp(prefix="certgate-apache-"))
    www.chmod(0o755)
    (www / "index.html").write_text("ok\n")
    (www / "index.html").chmod(0o644)
    config = folder / "httpd.conf"
    config.write_text(
        _APACHE.format(
            dir=folder,
            port=port,
            modules=_APACHE_MODULES,
            user=user,
            cert=cert,
            key=key,
            ca=ca,
            locations=locations,
            www=www,
        )
    )
    command = [need("apache2"), "-f", str(config), "-X"]
    try:
        with running(command, [port], folder / "error.log"):
            yield port
    finally:
        shutil.rmtree(www, ignore_errors=True)


@contextmanager
def caddy(folder: Path, caddyfile: str, port: int) -> Iterator[int]:
    """Caddy (``caddy run``) with ``caddyfile``, listening on ``port``; no admin endpoint, its
    data and configuration folders inside ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "Caddyfile"
    config.write_text(caddyfile)
    env = {**os.environ, "HOME": str(folder), "XDG_DATA_HOME": str(folder / "data"),
           "XDG_CONFIG_HOME": str(folder / "config")}  # fmt: skip
    command = [need("caddy"), "run", "--config", str(config), "--adapter", "caddyfile"]
    with running(command, [port], folder / "caddy.log", env=env):
        _tls_ready(port, "localhost")
        yield port


@contextmanager
def haproxy(folder: Path, config_text: str, port: int) -> Iterator[int]:
    """HAProxy in the foreground (``-db``) with ``config_text``, listening on ``port``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "haproxy.cfg"
    config.write_text(config_text)
    checked = subprocess.run(
        [need("haproxy"), "-c", "-f", str(config)], capture_output=True, text=True, check=False
    )
    if checked.returncode != 0:
        problem = checked.stdout + checked.stderr
        raise RuntimeError(f"haproxy -c refused the configuration: {problem}")
    with running([need("haproxy"), "-db", "-f", str(config)], [port], folder / "haproxy.log"):
        _tls_ready(port)
        yield port


def _tls_ready(port: int, name: str | None = None) -> None:
    """Wait until a TLS handshake completes on ``port``: a proxy may take connections into
    its backlog before it is ready to answer them (a loaded machine shows it)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
                context.wrap_socket(raw, server_hostname=name).close()
            return
        except (OSError, ssl.SSLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
