"""``certgate serve``: the mTLS gate in front of a service, with IIS-style answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from certgate.errors import UsageError
from certgate.exitcode import ExitCode
from certgate.report.console import err_console

if TYPE_CHECKING:  # Twisted is imported only when the gate really starts
    from certgate.gate.backends import Backend
    from certgate.gate.tls import ServerIdentity

__all__ = ["command"]


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"--listen must be HOST:PORT (port 0 = any free port), not {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


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
@click.option("--check", is_flag=True, help="Check the policy file and exit (0 valid, 2 not).")
def command(
    policy_file: str,
    listen: str,
    cert: str | None,
    key: str | None,
    throwaway_cert: bool,
    upstream: str | None,
    app: str | None,
    check: bool,
) -> int:
    """Authenticate clients by certificate in front of a service: any client certificate is
    accepted at the TLS layer, judged by the policy's engine (windows, openssl, rfc5280),
    mapped to an identity, and denied the way IIS would (403.7, 403.13, 403.16, 403.17,
    401.2) with the reason attached. SIGTERM/SIGINT stop it gracefully.

    \b
    Examples:
      certgate serve --policy gate.toml --check
      certgate serve --policy gate.toml --cert server.pem --key server.key \\
          --listen 0.0.0.0:8443 --upstream http://127.0.0.1:8080
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
    host, port = _listen(listen)
    identity = _identity(cert, key, throwaway_cert)
    backend = _backend(upstream, app)
    from certgate.gate.runner import serve_forever

    def announce(bound: int) -> None:
        console.print(f"certgate serve: listening on https://{host}:{bound}", markup=False)

    serve_forever(config, identity, backend, host, port, announce)
    return ExitCode.OK


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
