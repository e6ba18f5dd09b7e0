"""``certgate serve``: the mTLS gate in front of a service, with IIS-style answers."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from certgate.cli._common import listen_address
from certgate.errors import UsageError
from certgate.exitcode import ExitCode
from certgate.report.console import err_console

if TYPE_CHECKING:  # Twisted is imported only when the gate really starts
    import socket

    from certgate.gate.backends import Backend
    from certgate.gate.config import GateConfig
    from certgate.gate.tls import ServerIdentity

__all__ = ["command"]


@click.command("serve")
@click.option(
    "--policy",
    "policy_file",
    required=True,
    type=click.Path(),
    help="The policy file (TOML): trust, requirements, mapping, locations, limits, logs.",
)
@click.option(
    "--listen",
    default="127.0.0.1:8443",
    show_default=True,
    help="HOST:PORT to listen on (port 0: a free port, printed on start).",
)
@click.option("--cert", "cert", type=click.Path(), help="The server's certificate chain (PEM).")
@click.option("--key", "key", type=click.Path(), help="The server's private key (PEM).")
@click.option(
    "--throwaway-cert",
    is_flag=True,
    help="Generate a self-signed server certificate for this run (tests, demos).",
)
@click.option(
    "--upstream", metavar="URL", help="Reverse-proxy allowed requests to this http:// URL."
)
@click.option("--app", metavar="MODULE:CALLABLE", help="Host this WSGI application.")
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    metavar="N",
    help="Gate processes sharing the listening socket [default: the CPUs this process may use; "
    "1: no master process].",
)
@click.option("--worker-of", hidden=True, metavar="LISTEN_FD,READY_FD")
@click.option("--check", is_flag=True, help="Check the policy file and exit (0 valid, 2 not).")
def command(
    policy_file: str,
    listen: str,
    cert: str | None,
    key: str | None,
    throwaway_cert: bool,
    upstream: str | None,
    app: str | None,
    workers: int | None,
    worker_of: str | None,
    check: bool,
) -> int:
    """Authenticate clients by certificate in front of a service: any client certificate is
    accepted at the TLS layer, judged by the policy's engine (windows, openssl, rfc5280),
    mapped to an identity, and denied the way IIS would (403.7, 403.13, 403.16, 403.17,
    401.2) with the reason attached. SIGHUP re-reads the policy (a file that does not load
    keeps the old one); SIGTERM/SIGINT stop it gracefully, every worker included.

    \b
    Examples:
      certgate serve --policy gate.toml --check
      certgate serve --policy gate.toml --cert server.pem --key server.key \\
          --listen 0.0.0.0:8443 --upstream http://127.0.0.1:8080 --workers 4
      kill -HUP PID (PID: the master pid printed on start; every worker reloads)
      certgate serve --policy gate.toml --throwaway-cert --app myapp:application
    """
    from certgate.gate.config import load_policy

    config = load_policy(policy_file)
    console = err_console()
    if check:
        policy = config.policy
        console.print(
            f"{policy_file}: valid ({policy.engine} engine, {len(policy.locations)} location(s), "
            f"mapping {'on' if policy.mapping.enabled else 'off'})",
            markup=False,
        )
        return ExitCode.OK
    host, port = listen_address(listen, "0.0.0.0")
    if worker_of is not None:
        return _worker(policy_file, config, cert, key, upstream, app, host, worker_of)
    identity = _identity(cert, key, throwaway_cert)
    backend = _backend(upstream, app)  # checked here, before any worker starts
    count = workers
    if count is None:
        from certgate.gate.workers import usable_cpus

        count = usable_cpus()

    def reload() -> GateConfig:
        return load_policy(policy_file)

    if count == 1:
        from certgate.gate.runner import serve_forever

        def announce(bound: int) -> None:
            console.print(f"certgate serve: listening on https://{host}:{bound}", markup=False)

        serve_forever(config, identity, backend, host, port, announce, reload=reload)
        return ExitCode.OK
    return _master(config, identity, policy_file, host, port, count, upstream, app)


def _master(
    config: GateConfig,
    identity: ServerIdentity,
    policy_file: str,
    host: str,
    port: int,
    count: int,
    upstream: str | None,
    app: str | None,
) -> int:
    """``--workers N`` (N > 1): bind here, run N worker processes on the socket."""
    import tempfile
    from pathlib import Path

    from certgate.gate.config import load_policy
    from certgate.gate.workers import bind, run_workers

    console = err_console()
    try:
        listening = bind(host, port)
    except OSError as exc:
        raise UsageError(f"cannot serve on {host}:{port}: {exc}") from exc
    bound = listening.getsockname()[1]
    grace = config.policy.limits.shutdown_grace
    del config  # the workers load their own; the master keeps no stores
    with tempfile.TemporaryDirectory(prefix="certgate-serve-") as folder:
        # the workers serve the same certificate (a throwaway one too): written for them
        cert, key = identity.write(Path(folder))

        def argv(listen_fd: int, ready_fd: int) -> list[str]:
            line = [sys.executable, "-m", "certgate", "serve", "--policy", policy_file]
            line += ["--listen", f"{_host_text(host)}:{bound}", "--cert", str(cert)]
            line += ["--key", str(key), "--worker-of", f"{listen_fd},{ready_fd}"]
            line += ["--upstream", upstream] if upstream else []
            line += ["--app", app] if app else []
            return line

        def announce() -> None:
            console.print(
                f"certgate serve: listening on https://{_host_text(host)}:{bound} "
                f"({count} workers, master pid {os.getpid()})",
                markup=False,
            )

        def say(text: str) -> None:
            console.print(f"certgate serve: {text}", markup=False)

        return run_workers(
            argv,
            listening,
            count,
            check_policy=lambda: load_policy(policy_file),
            announce=announce,
            grace=grace,
            say=say,
        )


def _worker(
    policy_file: str,
    config: GateConfig,
    cert: str | None,
    key: str | None,
    upstream: str | None,
    app: str | None,
    host: str,
    worker_of: str,
) -> int:
    """One worker of ``--workers N``: serve on the master's socket until told to stop."""
    import socket

    from certgate.gate.config import load_policy
    from certgate.gate.runner import serve_forever

    listen_fd, _, ready_fd = worker_of.partition(",")
    if not listen_fd.isdigit() or not ready_fd.isdigit():
        raise UsageError("--worker-of is certgate's own (LISTEN_FD,READY_FD)")
    listening = socket.socket(fileno=int(listen_fd))
    identity = _identity(cert, key, False)
    backend = _backend(upstream, app)

    def ready(bound: int) -> None:
        os.write(int(ready_fd), b"1")
        os.close(int(ready_fd))

    serve_forever(
        config,
        identity,
        backend,
        host,
        bound_port(listening),
        ready,
        reload=lambda: load_policy(policy_file),
        listening=listening,
        parent=os.getppid(),
    )
    return ExitCode.OK


def bound_port(listening: socket.socket) -> int:
    return int(listening.getsockname()[1])


def _host_text(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _identity(cert: str | None, key: str | None, throwaway: bool) -> ServerIdentity:
    from certgate.gate.tls import ServerIdentity

    if throwaway:
        if cert or key:
            raise UsageError("--throwaway-cert and --cert/--key exclude each other")
        return ServerIdentity.throwaway()
    if not cert or not key:
        raise UsageError("give the server's --cert and --key (or --throwaway-cert)")
    return ServerIdentity.from_files(cert, key)


def _backend(upstream: str | None, app: str | None) -> Backend | None:
    from certgate.gate.backends import UpstreamProxy, WsgiApp, load_wsgi_app

    if upstream and app:
        raise UsageError("--upstream and --app exclude each other")
    if upstream:
        return UpstreamProxy(upstream)
    if app:
        return WsgiApp(load_wsgi_app(app))
    return None
