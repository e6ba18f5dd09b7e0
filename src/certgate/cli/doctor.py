"""``certgate doctor``: from a machine bundle and its logs to a ranked root cause, evidence and
tested fixes."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from certgate.cli._common import (
    TimeParam,
    byte_progress,
    os_version_setting,
    print_warnings,
    split_fields,
    step_status,
)
from certgate.core.doctor import Diagnosis, SampleClient, SymptomBuilder, diagnose
from certgate.core.kb import knowledge_base, likely_causes
from certgate.core.stores import ROOT
from certgate.errors import InputError
from certgate.inputs import ClientFiles, Request, StoreFiles, load
from certgate.inputs.bundle import LoadedMachine
from certgate.logs import LogScan
from certgate.output import write_files
from certgate.remedy import cleaned_beside, fix_files
from certgate.report._text import escape
from certgate.report.console import err_console, out_console
from certgate.report.doctor import doctor_document, print_doctor
from certgate.report.doctor_html import doctor_html
from certgate.report.jsonout import dumps

if TYPE_CHECKING:
    from certgate.demo import SeedCase

__all__ = ["command"]


@click.command("doctor")
@click.argument("bundle", required=False, type=click.Path())
@click.option(
    "--root",
    "roots",
    multiple=True,
    type=click.Path(),
    help="Trusted Root store file(s) (PEM, SST, PKCS#7...). Repeatable.",
)
@click.option(
    "--settings",
    "settings",
    type=click.Path(),
    help="settings.toml, a SCHANNEL/SslBindingInfo .reg export, netsh output or "
    "applicationHost.config (recognised by content).",
)
@click.option(
    "--logs",
    "log_paths",
    multiple=True,
    type=click.Path(),
    help="Log files or folders (svclog, IIS, HTTPERR, events...). Repeatable.",
)
@click.option(
    "--client-cert",
    "client_files",
    multiple=True,
    type=click.Path(),
    help="A sample client certificate, its chain after it. Repeatable.",
)
@click.option(
    "--at",
    "at",
    type=TimeParam(),
    default=None,
    help="Judge at this time (ISO 8601, naive = UTC; default now, demo: its time).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document (certgate.doctor/1)."
)
@click.option("--html", "html_file", type=click.Path(), help="Write a self-contained HTML report.")
@click.option(
    "--fix-dir",
    "fix_dir",
    type=click.Path(),
    help="Write every fix as scripts with a README per fix.",
)
@click.option(
    "--fields",
    "fields",
    help='The W3C #Fields header of IIS/HTTPERR rows that lost it (quote it: "date time ...").',
)
@click.option(
    "--os-version",
    metavar="VERSION",
    help="The server's Windows version (2012, 2012r2, 2016, 2019, 2022, 2025, win10, or a build "
    "such as 10.0.17763); default: the bundle's, else unknown.",
)
@click.option("--demo", is_flag=True, help="Diagnose the built-in seed scenario (make demo).")
@click.option(
    "--demo-dir",
    "demo_dir",
    type=click.Path(file_okay=False),
    help="With --demo: write the demo's files (bundle, certificates, logs) here for the "
    "README's examples (default: a temporary folder).",
)
def command(
    bundle: str | None,
    roots: tuple[str, ...],
    settings: str | None,
    log_paths: tuple[str, ...],
    client_files: tuple[str, ...],
    at: datetime | None,
    as_json: bool,
    html_file: str | None,
    fix_dir: str | None,
    fields: str | None,
    os_version: str | None,
    demo: bool,
    demo_dir: str | None,
) -> int:
    """Diagnose client-certificate authentication on a Windows/IIS server: rank the causes,
    show the evidence (certificates, settings with their source, log lines), and the fixes as
    scripts, each re-judged on a copy of the machine (what-if).

    Exit codes: 0 no cause found, 1 cause(s) or unexplained client-certificate failures
    found, 2 bad input or nothing could be read, 3 a rule failed (internal).

    \b
    Examples:
      certgate doctor bundle.zip --client-cert alice.pem
      certgate doctor --root Root.sst --settings schannel.reg --logs u_ex240305.log
      certgate doctor bundle/ --json > diagnosis.json
      certgate doctor bundle/ --html report.html --fix-dir fixes/
      certgate doctor --demo
    """
    clients = [*client_files]
    case = None
    if not (demo or bundle or roots or settings or log_paths or client_files):
        raise click.UsageError(
            "nothing to diagnose: give a bundle (certgate collect), --logs, --root, --settings "
            "or --client-cert (or try certgate doctor --demo)"
        )
    if demo_dir and not demo:
        raise click.UsageError("--demo-dir goes with --demo")
    if demo:
        case = _demo(bundle, demo_dir)
        bundle, clients, at = str(case.folder), [str(case.client), *clients], at or case.at
    request = Request(
        bundle,
        stores=(StoreFiles(ROOT, roots),),
        settings=(settings,) if settings else (),
        clients=tuple(ClientFiles(path) for path in clients),
        os_version=os_version_setting(os_version),
    )
    inputs = load(request)
    loaded = inputs.bundle
    when = at or datetime.now().astimezone()
    builder = SymptomBuilder(_Locator(Path(bundle) if bundle else None))
    read, unread = _read_logs(builder, loaded, log_paths, split_fields(fields))
    if not read and unread and not (loaded or roots or settings or clients):
        raise InputError(unread[0].split(": ", 1)[0], "nothing could be read: " + "; ".join(unread))
    kb = knowledge_base()
    with step_status("diagnosing (each fix re-judged on a copy of the machine)"):
        diagnosis = diagnose(
            inputs.machine,
            when,
            clients=[SampleClient(c.leaf, c.chain, c.path) for c in inputs.clients],
            symptoms=builder,
            describe=kb.describe,
            likely=likely_causes,
            unread=unread,
        )
    print_warnings(inputs.warnings)
    read_files = _files((*request.paths, *log_paths))
    _outputs(diagnosis, as_json, html_file, fix_dir, roots, read_files)
    if case is not None and not as_json:
        from certgate.demo.live import LIVE_STEPS  # the demo is imported only when it runs

        for step in LIVE_STEPS:
            if code := step(case):
                return code
    return diagnosis.exit_code


def _demo(bundle: str | None, demo_dir: str | None) -> SeedCase:
    from certgate.demo import build_seed_case, write_demo_folder

    if bundle:
        raise click.UsageError("--demo builds its own bundle: give no BUNDLE")
    if demo_dir:
        try:
            case = write_demo_folder(Path(demo_dir))
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise InputError(demo_dir, f"cannot write the demo here: {why}") from exc
    else:
        case = build_seed_case(Path(tempfile.mkdtemp(prefix="certgate-demo-")))
    err_console().print(
        f"Demo: the seed case written to {case.folder} (client: {case.client})", markup=False
    )
    return case


def _read_logs(
    builder: SymptomBuilder,
    loaded: LoadedMachine | None,
    paths: tuple[str, ...],
    fields: tuple[str, ...] | None,
) -> tuple[int, list[str]]:
    """Feed every log event to ``builder``: (files read, ["path: why" for each unread])."""
    inputs = list(paths)
    if loaded and loaded.logs:
        container = loaded.logs[0].container
        inputs += [str(container)] if loaded.format == "zip" else [f.display for f in loaded.logs]
    if not inputs:
        return 0, []
    with byte_progress("reading logs") as progress:
        scan = LogScan(inputs, fields=fields, progress=progress)
        for event in scan:
            builder.add(event)
    console = err_console()
    unread = []
    for item in scan.files:
        if item.error and (loaded is None or loaded.format != "zip" or "logs/" in item.path):
            console.print(f"[yellow]warning:[/] {escape(item.path)}: {escape(item.error)}")
            unread.append(f"{item.path}: {item.error}")
        for problem in item.problems[:3]:
            console.print(f"[yellow]warning:[/] {escape(item.path)}: {escape(str(problem))}")
    return sum(1 for item in scan.files if item.error is None), unread


class _Locator:
    """``file@offset`` -> ``file:line`` (reading up to the offset), paths relative to the
    bundle when they are inside it."""

    def __init__(self, bundle: Path | None) -> None:
        self.bundle = bundle.resolve() if bundle and bundle.is_dir() else None

    def __call__(self, location: str) -> str:
        path, at, offset = location.rpartition("@")
        if at and offset.isdigit() and Path(path).is_file():
            location = f"{path}:{_line_at(Path(path), int(offset))}"
        return self._short(location)

    def _short(self, location: str) -> str:
        if self.bundle is None:
            return location
        try:
            return str(Path(location).resolve().relative_to(self.bundle))
        except (ValueError, OSError):
            return location


def _line_at(path: Path, offset: int) -> int:
    count = 0
    with path.open("rb") as stream:
        left = offset
        while left > 0:
            chunk = stream.read(min(left, 1 << 20))
            if not chunk:
                break
            count += chunk.count(b"\n")
            left -= len(chunk)
    return count + 1


def _files(named: tuple[str, ...]) -> list[Path]:
    """Every file this run read, so that no output overwrites one (a bundle folder: its
    files)."""
    out: list[Path] = []
    for path in map(Path, named):
        if path.is_dir():
            out.extend(p for p in path.rglob("*") if p.is_file())
        else:
            out.append(path)
    return out


def _outputs(
    diagnosis: Diagnosis,
    as_json: bool,
    html_file: str | None,
    fix_dir: str | None,
    roots: tuple[str, ...],
    inputs: list[Path],
) -> None:
    """--html and --fix-dir are written as one unit (all files or none), never over an input."""
    console = err_console()
    planned: dict[Path, bytes] = {}
    if html_file:
        planned[Path(html_file)] = doctor_html(diagnosis).encode("utf-8")
    if fix_dir:
        fixes = fix_files(diagnosis)
        planned.update((Path(fix_dir) / name, data) for name, data in fixes.items())
        loose = [Path(r) for r in roots]
        planned.update(cleaned_beside(diagnosis, loose))
        inputs = [*inputs, *loose]
    write_files(planned, inputs)
    if html_file:
        console.print(f"wrote {html_file}", markup=False)
    if fix_dir:
        written = len(planned) - bool(html_file)
        console.print(f"wrote {written} file(s) under {fix_dir}", markup=False)
    if as_json:
        click.echo(dumps(doctor_document(diagnosis)))
    else:
        print_doctor(out_console(), diagnosis)
