"""The ``certgate`` command. Each sub-command lives in its own module and returns an exit code.

Exit codes (every command): 0 success / nothing to report at the chosen threshold,
1 findings or rejections, 2 bad input or usage, 3 internal error (a bug: please report it).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from certgate import __version__
from certgate.errors import CertgateError
from certgate.exitcode import ExitCode
from certgate.output import guarded_stdout

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["cli", "main"]

# Sub-command name -> (module, one-line summary). A module is imported only when its command
# runs, so `certgate explain` does not pay for Twisted and OpenSSL, and `certgate --help` lists
# the summaries without importing any command (tests/test_smoke.py keeps them equal to each
# command's own help).
COMMANDS: dict[str, tuple[str, str]] = {
    "audit": (
        "certgate.cli.audit",
        "Audit certificate stores (PEM, DER, PKCS#7, PFX, .sst, folders) for what breaks "
        "client-certificate authentication, such as an intermediate CA in Trusted Root (KB "
        "2802568).",
    ),
    "verify": (
        "certgate.cli.verify",
        "Judge a client certificate chain as Windows (Schannel/IIS), OpenSSL and RFC 5280 "
        "would, show every candidate path and failed check, and what a proposed fix would "
        "change.",
    ),
    "explain": (
        "certgate.cli.explain",
        "Explain an error code, a name or a pasted log line: meaning, likely causes (with how "
        "to confirm each), fixes and references.",
    ),
    "logs": (
        "certgate.cli.logs",
        "Read WCF svclog, System.Net traces, IIS W3C and HTTPERR logs, Schannel/CAPI2 events "
        "(.evtx or XML), nginx and Apache error logs; summarise every client-certificate event.",
    ),
    "machine": (
        "certgate.cli.machine",
        "Read a Windows machine's exports: a bundle folder or zip, or one exported file.",
    ),
    "collect": ("certgate.cli.collect", "Collect what certgate needs from a Windows server."),
    "doctor": (
        "certgate.cli.doctor",
        "Diagnose client-certificate authentication on a Windows/IIS server: rank the causes, "
        "show the evidence (certificates, settings with their source, log lines), and the "
        "fixes as scripts, each re-judged on a copy of the machine (what-if).",
    ),
    "fleet": (
        "certgate.cli.fleet",
        "Diagnose many servers at once, in parallel on this machine or on a Dask cluster.",
    ),
    "probe": (
        "certgate.cli.probe",
        "Ask a live server whether it wants a client certificate (in the handshake, or only "
        "after a request: renegotiation, TLS 1.3 post-handshake), which CA names it sends, what "
        "it does without one, and whether a given certificate would be offered and accepted.",
    ),
    "authz": (
        "certgate.cli.authz",
        "Answer a TLS-terminating proxy's auth sub-requests (nginx auth_request, Caddy "
        "forward_auth, Traefik forwardAuth, Envoy ext_authz, HAProxy): 200 with the client's "
        "identity headers, or the IIS-style denial (403.7, 403.16, ...) with its reason.",
    ),
    "serve": (
        "certgate.cli.serve",
        "Authenticate clients by certificate in front of a service: any client certificate is "
        "accepted at the TLS layer, judged by the policy's engine (windows, openssl, rfc5280), "
        "mapped to an identity, and denied the way IIS would (403.7, 403.13, 403.16, 403.17, "
        "401.2) with the reason attached.",
    ),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command: click.Command = importlib.import_module(entry[0]).command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the summaries above: no command module is imported."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [
            (name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit))
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="certgate")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors.")
def cli(verbose: bool) -> None:
    """Diagnose, verify and enforce TLS client-certificate authentication."""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args or "--verbose" in args
    try:
        with guarded_stdout():  # a full disk or a closed pipe is exit 2, named, not a traceback
            result = cli.main(args=args, prog_name="certgate", standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.exceptions.Abort:
        _errors().print("certgate: aborted")
        return ExitCode.BAD_INPUT
    except click.ClickException as exc:
        exc.show()
        return ExitCode.BAD_INPUT
    except CertgateError as exc:
        if verbose:
            _traceback()
        _errors().print(f"certgate: {exc.diagnostics()}", markup=False, soft_wrap=True)
        return ExitCode.BAD_INPUT
    except KeyboardInterrupt:
        _errors().print("certgate: interrupted")
        return ExitCode.INTERRUPTED
    except Exception as exc:  # a bug: say so in one line, details with -v
        if verbose:
            _traceback()
        _errors().print(
            f"certgate: internal error: {type(exc).__name__}: {exc} (run with -v for details)",
            markup=False,
        )
        return ExitCode.INTERNAL
    return int(result or 0)


def _errors() -> Console:
    """The stderr console, soft-wrapped (an error stays one line, whatever the width); rich is
    imported only when there is an error to print."""
    from certgate.report.console import err_console

    return err_console()


def _traceback() -> None:
    import traceback

    traceback.print_exc()
