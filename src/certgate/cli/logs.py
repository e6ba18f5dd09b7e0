"""``certgate logs``: what do these traces say about client certificates?"""

from __future__ import annotations

import json
from datetime import datetime

import click

from certgate.cli._common import TimeParam, byte_progress, split_fields
from certgate.core.kb import knowledge_base
from certgate.core.logsummary import SummaryBuilder
from certgate.errors import InputError, UsageError
from certgate.exitcode import ExitCode
from certgate.logs import FORMATS, FileResult, LogScan
from certgate.report._text import escape
from certgate.report.console import err_console, out_console
from certgate.report.jsonout import dumps, json_text
from certgate.report.logs import logs_document, print_logs

__all__ = ["command"]


@click.command("logs")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--since", type=TimeParam(), help="Only events at or after TIME (ISO 8601, UTC).")
@click.option("--until", type=TimeParam(), help="Only events at or before TIME (ISO 8601, UTC).")
@click.option(
    "--format",
    "format_id",
    type=click.Choice(sorted(FORMATS)),
    help="Read every input as this format instead of detecting it.",
)
@click.option(
    "--fields",
    "fields",
    help='The W3C #Fields header of IIS/HTTPERR rows that lost it (quote it: "date time ...").',
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (certgate.logs/1).")
@click.option("--events", "as_events", is_flag=True, help="Stream the events as JSON lines.")
def command(
    paths: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    format_id: str | None,
    fields: str | None,
    as_json: bool,
    as_events: bool,
) -> int:
    """Read WCF svclog, System.Net traces, IIS W3C and HTTPERR logs, Schannel/CAPI2 events
    (.evtx or XML), nginx and Apache error logs; summarise every client-certificate event.

    Formats are recognised by content; .gz and .zip are read transparently; folders are walked
    recursively. IIS and HTTPERR rows without their #Fields header are read with IIS's
    default fields when they have that shape (or with --fields); rows pasted from tickets
    and web pages are found by their "403 16 2148204809" triple. Records that are read but
    are not client-certificate failures (other HTTP.sys errors, code-signing chains) are
    counted apart. Exit 0: no client-certificate event found, 1: events found, 2: nothing
    could be read.

    \b
    Examples:
      certgate logs C:/inetpub/logs/LogFiles/W3SVC1 service.svclog
      certgate logs traces.zip --since 2024-03-05T10:00Z --json
      certgate logs u_ex240305.log --events | jq .codes
      certgate logs pasted.txt --fields "date time c-ip sc-status sc-substatus sc-win32-status"
    """
    if as_json and as_events:
        raise UsageError("--json and --events are exclusive: one document, or one event per line")
    builder = SummaryBuilder()
    with byte_progress("reading logs") as progress:
        scan = LogScan(
            paths,
            format=format_id,
            since=since,
            until=until,
            progress=progress,
            fields=split_fields(fields),
        )
        for event in scan:
            builder.add(event)
            if as_events:
                click.echo(json_text(json.dumps(event.to_dict(), ensure_ascii=False)))
    _check_inputs(scan.files)
    summary = builder.build(knowledge_base().describe)
    if as_json:
        click.echo(dumps(logs_document(scan.files, summary)))
    elif not as_events:
        print_logs(out_console(), scan.files, summary)
    return ExitCode.of(summary.events)


def _check_inputs(files: list[FileResult]) -> None:
    """Warn about each refused file and skipped record; if nothing was readable, fail."""
    console = err_console()
    refused = [item for item in files if item.error is not None]
    if files and len(refused) == len(files):
        first = refused[0]
        raise InputError(first.path, first.error or "cannot be read")
    for item in files:
        if item.error is not None:
            console.print(f"[yellow]warning:[/] {escape(item.path)}: {escape(item.error)}")
        for problem in item.problems[:5]:
            console.print(f"[yellow]warning:[/] {escape(item.path)}: {escape(str(problem))}")
        if item.skipped > 5:
            console.print(
                f"[yellow]warning:[/] {escape(item.path)}: {item.skipped:,} record(s) skipped"
            )
    if not files:
        raise UsageError("no input files found")
