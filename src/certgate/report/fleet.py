"""Render a fleet run: rich tables, the ``certgate.fleet/1`` JSON (streamed), one HTML page, and
the fix folder (one fix per distinct cause/certificate set, with its servers)."""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from certgate.core.visible import visible
from certgate.errors import InputError
from certgate.fleet._aggregate import FleetAggregate
from certgate.fleet._documents import (
    DiagnosedServer,
    FleetCertificate,
    FleetLogsDocument,
    HourBucket,
    ServerEntry,
    ServerOccurrence,
)
from certgate.remedy import write_files
from certgate.report._text import escape
from certgate.report.jsonout import dumps, json_text

__all__ = [
    "fleet_html",
    "print_fleet",
    "print_fleet_logs",
    "write_fleet_fixes",
    "write_fleet_json",
]

_SHOWN = 8  # server names shown in a table cell before "+N more"


def _names(names: list[str]) -> str:
    shown = ", ".join(sorted(names)[:_SHOWN])
    return shown + (f" +{len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def print_fleet(console: Console, fleet: FleetAggregate) -> None:
    document = fleet.document()
    s = document["summary"]
    console.print(
        f"[bold]Fleet:[/] {s['servers']} server(s): {s['with_causes']} with causes, "
        + (
            f"{s['symptoms_unexplained']} with failures no cause explains, "
            if s["symptoms_unexplained"]
            else ""
        )
        + (f"{s['incomplete']} incomplete, " if s["incomplete"] else "")
        + f"{s['healthy']} healthy, {s['unreadable']} unreadable"
        + (f", {s['rule_failed']} with a failed rule" if s["rule_failed"] else "")
    )
    if document["causes"]:
        table = Table(title="Causes", title_justify="left")
        for column in ("cause", "servers", "which"):
            table.add_column(column, justify="right" if column == "servers" else "left")
        for cause in document["causes"]:
            table.add_row(
                f"{escape(cause['title'])}\n[dim]{cause['id']}[/]",
                str(cause["servers"]),
                escape(_names(cause["server_names"])),
            )
        console.print(table)
    if document["certificates"]:
        console.print(_certificates(document["certificates"]))
    if document["fixes"]:
        table = Table(title="Fixes (one per cause and certificate set)", title_justify="left")
        for column in ("fix", "cause", "preferred fix", "servers"):
            table.add_column(column)
        for fix in document["fixes"]:
            preferred = next((f for f in fix["fixes"] if f["preferred"]), None)
            table.add_row(
                fix["id"],
                escape(fix["title"]),
                escape(preferred["title"] if preferred else "(manual)"),
                f"{fix['servers']}: {escape(_names(fix['server_names']))}",
            )
        console.print(table)
    if document["symptoms_unexplained"]:
        names = document["symptoms_unexplained"]
        console.print(
            f"[red]Client-certificate failures no cause explains[/] ({len(names)}): "
            f"{escape(_names(names))} [dim](each server's symptoms and likely causes: --json, "
            "or certgate doctor on its bundle)[/]"
        )
    if document["incomplete"]:
        table = Table(title="Incomplete: evidence not read (no all-clear)", title_justify="left")
        table.add_column("server")
        table.add_column("not read")
        for item in document["incomplete"]:
            table.add_row(escape(item["server"]), escape("\n".join(item["unread"])))
        console.print(table)
    if document["healthy"]:
        console.print(
            f"[green]Healthy[/] ({len(document['healthy'])}): {escape(_names(document['healthy']))}"
        )
    if document["unreadable"]:
        table = Table(title="Unreadable bundles", title_justify="left")
        table.add_column("bundle")
        table.add_column("why")
        for bad in document["unreadable"]:
            table.add_row(escape(bad["path"]), escape(bad["error"]))
        console.print(table)


def _certificates(certificates: list[FleetCertificate]) -> Table:
    table = Table(title="Certificates behind the causes", title_justify="left")
    table.add_column("thumbprint", no_wrap=True, min_width=40)
    for column in ("subject", "cause", "servers", "store", "physical store"):
        table.add_column(column, justify="right" if column == "servers" else "left")
    for cert in certificates:
        physical = ", ".join(f"{k} ({v})" for k, v in cert["physical"].items())
        style = "bold red" if "group-policy" in physical else ""
        table.add_row(
            cert["sha1"],
            escape(cert["subject"] or "-"),
            "\n".join(c.removeprefix("cause::") for c in cert["causes"]),
            str(cert["servers"]),
            ", ".join(cert["stores"]),
            f"[{style}]{escape(physical)}[/]" if style else escape(physical),
        )
    return table


@contextmanager
def _atomic(path: Path) -> Iterator[IO[str]]:
    """A text file written whole: a temporary file beside it, renamed when done."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as exc:
        raise InputError(str(path), f"cannot be written: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            yield stream
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_fleet_json(stream: IO[str], fleet: FleetAggregate) -> None:
    """The whole document, the servers streamed from the spool one at a time."""
    head = dumps(fleet.document())
    stream.write(head[: head.rstrip().rfind("}")].rstrip() + ',\n  "servers": [')
    for index, entry in enumerate(fleet.servers()):
        body = json_text(_json(entry)).replace("\n", "\n    ")
        stream.write(("," if index else "") + "\n    " + body)
    stream.write("\n  ]\n}\n")


def _json(entry: ServerEntry) -> str:
    import json

    return json.dumps(entry, indent=2, ensure_ascii=False)


def fleet_html(path: Path, fleet: FleetAggregate) -> None:
    with _atomic(path) as out:
        _html(out, fleet)


def _e(text: object) -> str:
    return html.escape(visible(str(text)))


_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;
text-align:left;vertical-align:top}th{background:#f4f4f4}.gpo{color:#b00;font-weight:bold}
.ok{color:#070}.bad{color:#b00}section{border-top:1px solid #ddd;margin-top:1.5em}
code{font-size:90%}"""


def _html(out: IO[str], fleet: FleetAggregate) -> None:
    document = fleet.document()
    anchors = {(e["server"], e["path"]): f"server-{i}" for i, e in enumerate(fleet.servers(), 1)}
    by_name: dict[str, str] = {}
    for (name, _), anchor in anchors.items():
        by_name.setdefault(name, anchor)

    def link(name: str) -> str:
        return f'<a href="#{by_name.get(name, "")}">{_e(name)}</a>'

    s = document["summary"]
    out.write(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>certgate fleet doctor"
        f"</title><style>{_STYLE}</style></head><body><h1>certgate fleet doctor</h1>"
        f"<p>{s['servers']} server(s) at {_e(document['at'])}: "
        f"<span class='bad'>{s['with_causes']} with causes</span>, "
        f"<span class='bad'>{s['symptoms_unexplained']} with failures no cause explains"
        f"</span>, {s['incomplete']} incomplete, "
        f"<span class='ok'>{s['healthy']} healthy</span>, {s['unreadable']} unreadable.</p>"
    )
    out.write("<h2>Causes</h2><table><tr><th>cause</th><th>servers</th><th>which</th></tr>")
    for cause in document["causes"]:
        names = ", ".join(link(n) for n in cause["server_names"])
        out.write(
            f"<tr><td>{_e(cause['title'])}<br><code>{_e(cause['id'])}</code></td>"
            f"<td>{cause['servers']}</td><td>{names}</td></tr>"
        )
    out.write("</table><h2>Certificates behind the causes</h2><table><tr><th>thumbprint</th>")
    out.write("<th>subject</th><th>causes</th><th>servers</th><th>physical store</th></tr>")
    for cert in document["certificates"]:
        physical = ", ".join(f"{k} ({v})" for k, v in cert["physical"].items())
        css = " class='gpo'" if "group-policy" in physical else ""
        out.write(
            f"<tr><td><code>{_e(cert['sha1'])}</code></td><td>{_e(cert['subject'])}</td>"
            f"<td>{_e(', '.join(cert['causes']))}</td><td>{cert['servers']}</td>"
            f"<td{css}>{_e(physical)}</td></tr>"
        )
    out.write("</table><h2>Failures no cause explains</h2><p>")
    out.write(", ".join(link(n) for n in document["symptoms_unexplained"]) or "none")
    out.write("</p><h2>Incomplete (evidence not read)</h2><table><tr><th>server</th>")
    out.write("<th>not read</th></tr>")
    for item in document["incomplete"]:
        unread = "<br>".join(_e(u) for u in item["unread"])
        out.write(f"<tr><td>{link(item['server'])}</td><td>{unread}</td></tr>")
    out.write("</table><h2>Healthy</h2><p>")
    out.write(", ".join(link(n) for n in document["healthy"]) or "none")
    out.write("</p><h2>Unreadable bundles</h2><table><tr><th>bundle</th><th>why</th></tr>")
    for bad in document["unreadable"]:
        out.write(f"<tr><td>{_e(bad['path'])}</td><td>{_e(bad['error'])}</td></tr>")
    out.write("</table><h2>Servers</h2>")
    for entry in fleet.servers():
        out.write(_server_html(entry, anchors[(entry["server"], entry["path"])]))
    out.write("</body></html>\n")


def _unexplained_html(entry: DiagnosedServer) -> list[str]:
    parts = []
    for label in entry["unexplained"]:
        likely = "".join(f"<li>{_e(c)}</li>" for c in entry["unexplained_likely"].get(label, ()))
        parts.append(
            f"<p class='bad'>Failures no cause explains: {_e(label)}</p>"
            + (f"<p>Likely causes, most likely first:</p><ul>{likely}</ul>" if likely else "")
        )
    parts += [f"<p>not read: {_e(unread)}</p>" for unread in entry["unread"]]
    return parts


def _server_html(entry: ServerEntry, anchor: str) -> str:
    parts = [
        f"<section id='{anchor}'><h3>{_e(entry['server'])}</h3>",
        f"<p><code>{_e(entry['path'])}</code>: {_e(entry['status'])}</p>",
    ]
    if "error" in entry:
        parts.append(f"<p class='bad'>{_e(entry['error'])}</p>")
    else:
        parts += _unexplained_html(entry)
    for cause in entry["causes"]:
        certs = "".join(
            f"<li><code>{_e(c['sha1'])}</code> {_e(c['subject'])} in {_e(c['store'] or '-')}: "
            f"{_e(c['origin'])}</li>"
            for c in cause["certificates"]
        )
        fixes = "".join(
            f"<li>{_e(f['title'])}{' (preferred)' if f['preferred'] else ''}</li>"
            for f in cause["fixes"]
        )
        parts.append(
            f"<h4>{_e(cause['title'])} ({_e(cause['confidence'])})</h4>"
            f"<p>{_e(cause['summary'])}</p><ul>{certs}</ul><p>Fixes:</p><ul>{fixes}</ul>"
        )
    parts.append("</section>")
    return "".join(parts)


def write_fleet_fixes(folder: Path, fleet: FleetAggregate) -> list[Path]:
    """``<n>-<cause>-<id>/``: README (the cause, its certificates, the servers), servers.txt,
    and each fix's scripts as ``certgate doctor --fix-dir`` writes them for one server."""
    planned: dict[Path, bytes] = {}
    overview = ["# certgate fleet doctor: fixes", ""]
    for index, (key, seen) in enumerate(fleet.ordered_groups(), 1):
        group = seen.group
        name = f"{index}-{group.cause.split('::')[-1]}-{key}"
        servers = sorted(seen.servers)
        overview.append(f"{index}. `{name}/`: {group.title} on {len(servers)} server(s)")
        base = folder / name
        planned[base / "servers.txt"] = "".join(f"{visible(s)}\n" for s in servers).encode()
        planned[base / "README.md"] = _group_readme(group, servers).encode()
        planned.update({base / rel: data for rel, data in group.files.items()})
    planned[folder / "README.md"] = ("\n".join(overview) + "\n").encode()
    return write_files(planned)


def _group_readme(group: Any, servers: list[str]) -> str:
    lines = [f"# {group.title}", "", f"Cause `{group.cause}` on {len(servers)} server(s).", ""]
    if group.certificates:
        lines += ["## Certificates", ""]
        lines += [
            f"- `{c['sha1']}` {visible(c['subject'])} in {c['store'] or '-'}: "
            f"physical store {c['origin']}"
            for c in group.certificates
        ]
        lines.append("")
    lines += ["## Fixes", ""]
    for fix in group.fixes:
        lines.append(f"- {fix['title']}{' (preferred)' if fix['preferred'] else ''}")
    if group.files:
        lines += [
            "",
            "Each fix's folder holds its scripts and a README with the steps; the "
            "what-if in it was computed on the first server below.",
        ]
    lines += ["", "## Servers", "", *(f"- {visible(s)}" for s in servers)]
    return "\n".join(lines) + "\n"


def print_fleet_logs(console: Console, document: FleetLogsDocument) -> None:
    s = document["summary"]
    console.print(
        f"[bold]Fleet logs:[/] {s['events']:,} client-certificate event(s) in {s['files']:,} "
        f"file(s) from {s['servers']} server(s)"
        + (f"; {s['refused']} file(s) could not be read" if s["refused"] else "")
    )
    if document["codes"]:
        table = Table(title="Per code", title_justify="left")
        for column in ("code", "events", "servers", "first", "last"):
            table.add_column(column, justify="right" if column in ("events", "servers") else "left")
        for code in document["codes"]:
            meaning = f"\n[dim]{escape(code['meaning'])}[/]" if code["meaning"] else ""
            table.add_row(
                f"{escape(code['name'])}{meaning}",
                f"{code['events']:,}",
                str(code["servers"]),
                _where(code["first"]),
                _where(code["last"]),
            )
        console.print(table)
    table = Table(title="Per server (most events first)", title_justify="left")
    for column in ("server", "files", "events", "top codes", "first", "last"):
        table.add_column(column, justify="right" if column in ("files", "events") else "left")
    noisy = [server for server in document["servers"] if server["events"]]
    for server in noisy[:50]:
        top = ", ".join(
            f"{c.split(':', 1)[-1]} {n:,}" for c, n in list(server["codes"].items())[:3]
        )
        table.add_row(
            escape(server["server"]),
            str(server["files"]),
            f"{server['events']:,}",
            escape(top),
            server["first"] or "-",
            server["last"] or "-",
        )
    if noisy:
        console.print(table)
    quiet = len(document["servers"]) - len(noisy)
    more = f"; {len(noisy) - 50} more with events in --json" if len(noisy) > 50 else ""
    console.print(f"{quiet} server(s) without client-certificate events{more}")
    buckets = document["timeline"]["buckets"]
    if buckets:
        console.print(_timeline(buckets))
    for item in document["refused"][:20]:
        console.print(
            f"[yellow]unreadable:[/] {escape(item['path'])}: {escape(item['error'] or '')}"
        )


def _where(occurrence: ServerOccurrence | None) -> str:
    if occurrence is None:
        return "-"
    return escape(f"{occurrence['time'] or '?'} {occurrence['server']} {occurrence['location']}")


def _timeline(buckets: list[HourBucket], width: int = 40, rows: int = 24) -> Table:
    """The hourly counts, merged into at most ``rows`` rows."""
    step = max(1, -(-len(buckets) // rows))
    merged = [
        (buckets[i]["start"], sum(b["count"] for b in buckets[i : i + step]))
        for i in range(0, len(buckets), step)
    ]
    peak = max(n for _, n in merged) or 1
    table = Table(title=f"Timeline ({step} hour(s) a row)", title_justify="left")
    table.add_column("from")
    table.add_column("events", justify="right")
    table.add_column("")
    for start, count in merged:
        table.add_row(start, f"{count:,}", "#" * max(1 if count else 0, count * width // peak))
    return table
