"""The ``certgate`` command. Each sub-command lives in its own module and returns an exit code.

Exit codes (every command): 0 success / nothing to report at the chosen threshold,
1 findings or rejections, 2 bad input or usage, 3 internal error (a bug: please report it).
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Sequence

import click

from certgate import __version__
from certgate.errors import CertgateError
from certgate.report.console import err_console

__all__ = ["cli", "main"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3


# Sub-command name -> module; a module is imported only when its command runs (or for --help),
# so `certgate explain` does not pay for Twisted and OpenSSL.
COMMANDS = {
    "audit": "certgate.cli.audit",
    "verify": "certgate.cli.verify",
    "explain": "certgate.cli.explain",
    "logs": "certgate.cli.logs",
    "machine": "certgate.cli.machine",
    "collect": "certgate.cli.collect",
    "doctor": "certgate.cli.doctor",
    "fleet": "certgate.cli.fleet",
    "probe": "certgate.cli.probe",
    "serve": "certgate.cli.serve",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command: click.Command = importlib.import_module(module).command
        return command


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
    errors = err_console()  # soft-wrapped: an error stays one line, whatever the width
    try:
        result = cli.main(args=args, prog_name="certgate", standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.exceptions.Abort:
        errors.print("certgate: aborted")
        return EXIT_INPUT
    except click.ClickException as exc:
        exc.show()
        return EXIT_INPUT
    except CertgateError as exc:
        if verbose:
            traceback.print_exc()
        errors.print(f"certgate: {exc.diagnostics()}", markup=False, soft_wrap=True)
        return EXIT_INPUT
    except KeyboardInterrupt:
        errors.print("certgate: interrupted")
        return 130
    except Exception as exc:  # a bug: say so in one line, details with -v
        if verbose:
            traceback.print_exc()
        errors.print(
            f"certgate: internal error: {type(exc).__name__}: {exc} (run with -v for details)",
            markup=False,
        )
        return EXIT_INTERNAL
    return int(result or 0)
