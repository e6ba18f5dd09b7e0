"""``certgate fleet doctor|logs PATH...``: the doctor and the log summary over many servers, on
a local process pool (default) or a Dask cluster (``--dask``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from certgate.cli._common import TimeParam
from certgate.errors import UsageError
from certgate.exitcode import ExitCode
from certgate.report.console import err_console, out_console

if TYPE_CHECKING:
    from certgate.fleet._documents import LogFileRef

__all__ = ["command", "executor_options", "progress_bar"]


def _one_executor(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and ctx.params.get("workers") is not None:
        raise click.BadParameter("--workers sizes the local pool: not with --dask", ctx, param)
    return value


def executor_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--dask-timeout",
        type=click.FloatRange(min=0.1, max=3600),
        default=30.0,
        show_default=True,
        help="Seconds to wait for the Dask scheduler to answer.",
    )(func)
    func = click.option(
        "--dask",
        "dask",
        metavar="SCHEDULER_ADDRESS",
        callback=_one_executor,
        help="Run on this Dask cluster (tcp://host:8786) instead of a local process pool; "
        "needs pip install 'certgate[dask]'. Workers must reach the paths (docs/fleet.md).",
    )(func)
    return click.option(
        "--workers",
        type=click.IntRange(min=1, max=1024),
        default=None,
        is_eager=True,  # read before --dask, which refuses it
        help="Local worker processes (default: the CPUs this process may use).",
    )(func)


@click.group("fleet")
def command() -> None:
    """Diagnose many servers at once, in parallel on this machine or on a Dask cluster.

    \b
    Examples:
      certgate fleet doctor bundles/ --fix-dir fleet-fixes/
      certgate fleet doctor --demo --fix-dir fleet-fixes/
      certgate fleet doctor 'share/*/bundle.zip' --json > fleet.json
      certgate fleet doctor servers.txt --dask tcp://scheduler:8786 --jsonl | jq .status
      certgate fleet logs //share/iislogs/ --since 2024-03-05
    """


@command.command("doctor")
@click.argument("paths", nargs=-1, metavar="PATH...")
@executor_options
@click.option(
    "--at", type=TimeParam(), default=None, help="Judge at this time (ISO 8601; default now)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document (certgate.fleet/1).")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="One JSON line per server as it finishes.")
@click.option("--html", "html_file", type=click.Path(), help="Write one HTML page.")
@click.option(
    "--fix-dir",
    type=click.Path(),
    help="Write one fix per distinct cause/certificate set, with its list of servers.",
)
@click.option(
    "--demo", is_flag=True, help="Generate 50 bundles (some fed by Group Policy) and diagnose them."
)
def doctor(
    paths: tuple[str, ...],
    workers: int | None,
    dask: str | None,
    dask_timeout: float,
    at: datetime | None,
    as_json: bool,
    as_jsonl: bool,
    html_file: str | None,
    fix_dir: str | None,
    demo: bool,
) -> int:
    """Run the doctor on every bundle, in parallel, and answer as a fleet: how many servers
    have each cause, which certificates (by thumbprint) cause it on how many servers and from
    which physical store, which servers are healthy, which bundles could not be read and why.

    PATH is a bundle (folder or .zip), a folder of bundles, a glob, a file listing them (one
    a line), or an http(s) URL of a bundle zip. Exit codes: 0 no cause anywhere, 1 a cause on
    some server, 2 bad input or only unreadable bundles besides healthy ones, 3 a rule failed
    (internal).
    """
    from certgate.fleet import DoctorTask, FleetAggregate, bundle_paths

    if as_json and as_jsonl:
        raise UsageError("--json and --jsonl are exclusive: one document, or one line a server")
    if demo:
        paths, at = _demo(paths), at or _demo_time()
    elif not paths:
        raise UsageError("give PATH... (bundles, folders of bundles, globs, list files) or --demo")
    when = at or datetime.now(UTC)
    found = list(bundle_paths(paths))  # names only: a path list, never the bundles
    if not found:
        raise UsageError("no bundle found in the given paths")
    tasks = (DoctorTask(p, when, fix_dir is not None) for p in found)
    fleet = FleetAggregate(when)
    try:
        where = _diagnose_all(fleet, tasks, len(found), workers, dask, dask_timeout, as_jsonl)
        _outputs(fleet, as_json, as_jsonl, html_file, fix_dir)
        err_console().print(f"{fleet.total} bundle(s) on {where}", markup=False, highlight=False)
        return fleet.exit_code()
    finally:
        fleet.close()


def _diagnose_all(
    fleet: Any,
    tasks: Iterator[Any],
    total: int,
    workers: int | None,
    dask: str | None,
    dask_timeout: float,
    as_jsonl: bool,
) -> str:
    """Stream the reports into ``fleet`` (and to stdout for --jsonl); the executor's name."""
    from certgate.fleet import diagnose_bundle, make_executor, server_line, unreadable_report
    from certgate.report.jsonout import json_text

    executor = make_executor(workers, dask, dask_timeout)
    try:
        with progress_bar("diagnosing", total, executor.where) as advance:
            for outcome in executor.run(diagnose_bundle, tasks):
                report = outcome.result
                if report is None:  # the task died on its worker
                    report = unreadable_report(outcome.item.path, f"task failed: {outcome.error}")
                fleet.add(report)
                if as_jsonl:
                    line = server_line(report.entry)
                    click.echo(json_text(json.dumps(line, ensure_ascii=False)))
                advance(report.entry["status"])
    finally:
        executor.close()
    return executor.where


def _demo(paths: tuple[str, ...]) -> tuple[str, ...]:
    import tempfile

    from certgate.testing.fleet import write_fleet

    if paths:
        raise UsageError("--demo writes its own bundles: give no PATH")
    folder = Path(tempfile.mkdtemp(prefix="certgate-fleet-demo-"))
    servers = write_fleet(folder, 50, gpo_share=0.1, log_bytes=20_000)
    gpo = sum(s.scenario == "seed-gpo" for s in servers)
    err_console().print(
        f"Demo: 50 bundles written to {folder} ({gpo} with an intermediate CA that Group "
        "Policy puts into Root, one corrupt)",
        markup=False,
    )
    return (str(folder),)


def _demo_time() -> datetime:
    from certgate.testing.fleet import FLEET_AT

    return FLEET_AT


def _outputs(
    fleet: Any, as_json: bool, as_jsonl: bool, html_file: str | None, fix_dir: str | None
) -> None:
    from certgate.report.fleet import fleet_html, print_fleet, write_fleet_fixes, write_fleet_json

    console = err_console()
    if html_file:
        fleet_html(Path(html_file), fleet)
        console.print(f"wrote {html_file}", markup=False)
    if fix_dir:
        written = write_fleet_fixes(Path(fix_dir), fleet)
        console.print(f"wrote {len(written)} file(s) under {fix_dir}", markup=False)
    if as_json:
        write_fleet_json(sys.stdout, fleet)
    elif not as_jsonl:
        print_fleet(out_console(), fleet)


@command.command("logs")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@executor_options
@click.option("--since", type=TimeParam(), help="Only events at or after TIME (ISO 8601, UTC).")
@click.option("--until", type=TimeParam(), help="Only events at or before TIME (ISO 8601, UTC).")
@click.option("--format", "format_id", help="Read every file as this format (see certgate logs).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document (certgate.fleet-logs/1).")
def logs(
    paths: tuple[str, ...],
    workers: int | None,
    dask: str | None,
    dask_timeout: float,
    since: datetime | None,
    until: datetime | None,
    format_id: str | None,
    as_json: bool,
) -> int:
    """Summarise the client-certificate events of many servers' logs (IIS, HTTPERR, svclog,
    events...), each file read in parallel, merged per server, per code and into one timeline.

    PATH is a log file or zip, a bundle or a folder of bundles (their logs/), or a folder of
    server folders (each sub-folder one server), or a glob. Exit 0: no client-certificate
    event, 1: events found, 2: nothing could be read.
    """
    from certgate.core.kb import knowledge_base
    from certgate.fleet import LogMerge, log_tasks, make_executor, summarise_log
    from certgate.logs import FORMATS
    from certgate.report.fleet import print_fleet_logs
    from certgate.report.jsonout import dumps

    if format_id is not None and format_id not in FORMATS:
        raise UsageError(f"unknown log format {format_id!r}; known: {', '.join(sorted(FORMATS))}")
    tasks = list(log_tasks(paths, format=format_id, since=since, until=until))
    if not tasks:
        raise UsageError("no log file found in the given paths")
    merged = LogMerge()
    executor = make_executor(workers, dask, dask_timeout)
    try:
        with progress_bar("reading", len(tasks), executor.where) as advance:
            for outcome in executor.run(summarise_log, tasks):
                part = outcome.result
                if part is None:
                    from certgate.fleet import LogPart

                    item: LogFileRef = {
                        "path": outcome.item.path,
                        "error": f"task failed: {outcome.error}",
                    }
                    part = LogPart(outcome.item.server, outcome.item.path, (item,))
                merged.add(part)
                advance("read")
    finally:
        executor.close()
    document = merged.document(knowledge_base().describe)
    if merged.files and len(merged.refused) == merged.files:
        first = merged.refused[0]
        raise UsageError(f"nothing could be read; {first['path']}: {first['error']}")
    if as_json:
        click.echo(dumps(document))
    else:
        print_fleet_logs(out_console(), document)
    err_console().print(f"{len(tasks)} file(s) on {executor.where}", markup=False)
    return ExitCode.of(merged.events)


@contextmanager
def progress_bar(label: str, total: int, where: str) -> Iterator[Callable[[str], None]]:
    """A bar with counts and ETA on stderr when it is a terminal; nothing otherwise."""
    console = err_console()
    if not console.is_terminal:
        yield lambda status: None
        return
    columns = (
        TextColumn(f"{label} [dim]({where})[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    counts: dict[str, int] = {}
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total, counts="")

        def advance(status: str) -> None:
            counts[status] = counts.get(status, 0) + 1
            text = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            bar.update(task, advance=1, counts=text)

        yield advance
