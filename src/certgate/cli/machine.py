"""``certgate machine show``: everything known about a Windows machine, and where it came from."""

from __future__ import annotations

import click

from certgate.cli._common import json_option, password_prompt, print_warnings, read_password
from certgate.exitcode import ExitCode
from certgate.inputs import Request, load, setting_origins
from certgate.report.console import err_console, out_console
from certgate.report.jsonout import dumps, origins_json
from certgate.report.machine import machine_document, print_machine

__all__ = ["command"]


@click.group("machine")
def command() -> None:
    """Read a Windows machine's exports: a bundle folder or zip, or one exported file."""


@command.command("show")
@click.argument("path", type=click.Path())
@json_option
@click.option("--password", help="Password for PKCS#12 store files (else asked on the terminal).")
@click.option("--password-env", metavar="VAR", help="Read the PKCS#12 password from $VAR.")
def show(path: str, as_json: bool, password: str | None, password_env: str | None) -> int:
    """Show settings with their source (file:line) or "default", HTTP.sys bindings, stores with
    counts, listed certificates, IIS paths and mappings, logs, and what is unknown.

    PATH is a bundle folder or zip (layout in README, "Machine bundles"), or one exported file:
    schannel.reg, netsh-sslcert.txt, applicationHost.config, a store or a store listing.
    A malformed part is reported (file, line, what) and the rest is still shown; exit 2 then.

    \b
    Examples:
      certgate machine show bundle.zip
      certgate machine show exports/ --json
      certgate machine show schannel.reg
    """
    request = Request(
        path,
        bundle_strict=False,
        password=read_password(password, password_env),
        prompt=password_prompt,
    )
    read = load(request)
    loaded = read.bundle
    assert loaded is not None  # a bundle that cannot be listed at all raised
    if as_json:
        click.echo(dumps(machine_document(loaded, origins_json(setting_origins(read)))))
    else:
        print_warnings(loaded.warnings)
        print_machine(out_console(), loaded)
    for error in loaded.errors:
        err_console().print(f"certgate: {error.diagnostics()}", markup=False, soft_wrap=True)
    return ExitCode.BAD_INPUT if loaded.errors else ExitCode.OK
