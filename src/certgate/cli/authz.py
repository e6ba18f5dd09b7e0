"""``certgate authz``: answer a TLS-terminating proxy's auth sub-requests (docs/proxies.md)."""

from __future__ import annotations

import click

from certgate.cli._common import listen_address
from certgate.core.gate.authz import HeaderFormat
from certgate.errors import UsageError
from certgate.exitcode import ExitCode
from certgate.report.console import err_console

__all__ = ["command"]


@click.command("authz")
@click.option(
    "--policy",
    "policy_file",
    required=True,
    type=click.Path(),
    help="The gate's policy file (TOML): trust, requirements, mapping, locations.",
)
@click.option(
    "--listen",
    default="127.0.0.1:9180",
    show_default=True,
    help="HOST:PORT to listen on; keep it where only the proxy can reach it (port 0: any).",
)
@click.option(
    "--proxy",
    "fmt",
    type=click.Choice([f.value for f in HeaderFormat]),
    default=HeaderFormat.NGINX.value,
    show_default=True,
    help="How the proxy passes the client certificate (the header and its format).",
)
@click.option("--header", help="Read the certificate from this header instead of the default.")
@click.option(
    "--prefix",
    default="",
    help="Path prefix to strip when the judged path is our own (Envoy's path_prefix).",
)
def command(policy_file: str, listen: str, fmt: str, header: str | None, prefix: str) -> int:
    """Answer a TLS-terminating proxy's auth sub-requests (nginx auth_request, Caddy
    forward_auth, Traefik forwardAuth, Envoy ext_authz, HAProxy): 200 with the client's
    identity headers, or the IIS-style denial (403.7, 403.16, ...) with its reason.
    SIGHUP reloads the policy; SIGTERM/SIGINT stop.

    \b
    Examples:
      certgate authz --policy gate.toml --listen 127.0.0.1:9180
      certgate authz --policy gate.toml --proxy envoy --prefix /authz
    """
    from certgate.gate.authz import serve_authz
    from certgate.gate.config import load_policy

    load_policy(policy_file)  # a bad policy is exit 2 before anything listens
    host, port = listen_address(listen, "127.0.0.1")
    console = err_console()

    def announce(bound: int) -> None:
        console.print(f"certgate authz: listening on http://{host}:{bound}", markup=False)

    try:
        serve_authz(
            policy_file,
            HeaderFormat(fmt),
            host,
            port,
            header=header,
            prefix=prefix,
            announce=announce,
        )
    except OSError as exc:
        raise UsageError(str(exc)) from None
    return ExitCode.OK
