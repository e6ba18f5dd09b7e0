"""``certgate collect``: gather a machine bundle on the Windows server, print the PowerShell
collector for servers without Python, or print how to switch on a trace."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import click

from certgate import __version__
from certgate.errors import UsageError
from certgate.exitcode import ExitCode
from certgate.report._text import escape
from certgate.report.console import err_console, out_console
from certgate.windows.tracing import RECIPES, Recipe

__all__ = ["command", "powershell_script"]


def powershell_script() -> str:
    return resources.files("certgate.windows").joinpath("collect.ps1").read_text(encoding="utf-8")


@click.command("collect")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a machine bundle zip (run on the Windows server, elevated).",
)
@click.option(
    "--log-days",
    type=click.IntRange(0, 365),
    default=7,
    show_default=True,
    help="With --out: copy IIS/HTTPERR logs changed in the last N days.",
)
@click.option("--powershell", is_flag=True, help="Print the PowerShell collector script.")
@click.option(
    "--tracing",
    type=click.Choice(sorted(RECIPES)),
    help="Print how to switch a trace on, where it lands, and how to switch it off.",
)
def command(out: Path | None, log_days: int, powershell: bool, tracing: str | None) -> int:
    """Collect what certgate needs from a Windows server.

    \b
    Examples:
      certgate collect --out bundle.zip          (on the server, elevated)
      certgate collect --powershell > collect.ps1
      certgate collect --tracing capi2
    """
    chosen = [
        name
        for name, on in (("--out", out), ("--powershell", powershell), ("--tracing", tracing))
        if on
    ]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --out FILE, --powershell, --tracing NAME")
    if powershell:
        click.echo(powershell_script(), nl=False)
        return ExitCode.OK
    if tracing:
        _print_recipe(RECIPES[tracing])
        return ExitCode.OK
    assert out is not None
    return _collect(out, log_days)


def _print_recipe(recipe: Recipe) -> None:
    console = out_console()
    for title, text in (
        (recipe.title, ""),
        ("Switch it on", recipe.enable),
        ("Where the output lands", recipe.output),
        ("Switch it off", recipe.disable),
        ("Sources", recipe.notes),
    ):
        console.print(f"[bold]{title}[/]" if not text else f"\n[bold]{title}[/]")
        if text:
            console.print(text, markup=False, highlight=False, soft_wrap=True)


def _collect(out: Path, log_days: int) -> int:  # the Windows part is exercised by fakes only
    from certgate.windows import windows_host
    from certgate.windows.collect import collect_bundle

    host = windows_host()
    if out.exists() and out.is_dir():
        raise UsageError(f"{out} is a folder; give a .zip file name")
    steps = collect_bundle(host, out, now=datetime.now(UTC), log_days=log_days, version=__version__)
    errors = err_console()
    for step in steps:
        if step.status != "ok":
            detail = escape(step.detail)
            errors.print(f"[yellow]{escape(step.name)}: {step.status}[/] {detail}", markup=True)
    out_console().print(f"bundle written: {out} (next: certgate machine show {out})", markup=False)
    return ExitCode.OK
