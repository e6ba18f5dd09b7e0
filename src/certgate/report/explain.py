"""Render knowledge-base matches: a compact card per likely match, or one JSON document."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from certgate.core.kb import Confidence, Entry, Match
from certgate.report.explain_plain import CARD_WINDOW

if TYPE_CHECKING:  # rich is imported by the text renderers only: --json does not load it
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

    from certgate.report.documents import (
        EntryJson,
        ExplainDocument,
        ExplainListDocument,
        HowMatchedJson,
        MatchJson,
    )

__all__ = [
    "SCHEMA",
    "entry_document",
    "explain_document",
    "list_document",
    "print_list",
    "print_matches",
    "print_unknown",
]

SCHEMA: Final = "certgate.explain/1"

_CONFIDENCE_STYLE = {
    Confidence.CONFIRMED: "green",
    Confidence.SECONDARY: "yellow",
    Confidence.INFERRED: "magenta",
    Confidence.UNCONFIRMED: "red",
}


def entry_document(entry: Entry) -> EntryJson:
    return {
        "id": entry.id,
        "family": entry.family,
        "code": entry.code,
        "name": entry.name,
        "summary": entry.summary,
        "meaning": entry.meaning,
        "causes": [
            {"rank": rank, "text": c.text, "confirm": c.confirm, "confidence": c.confidence}
            for rank, c in enumerate(entry.causes, start=1)
        ],
        "fixes": list(entry.fixes),
        "references": [reference.text for reference in entry.references],
        "confidence": entry.confidence,
        "aliases": list(entry.aliases),
        "forms": dict(entry.forms),
        "value": entry.value,
        "related": list(entry.related),
    }


def _match_document(match: Match) -> MatchJson:
    how: HowMatchedJson = {
        "kind": match.kind,
        "text": match.text,
        "why": match.why,
        "score": match.score,
    }
    return {**entry_document(match.entry), "rank": match.rank, "match": how}


def explain_document(query: str, matches: list[Match], suggestions: list[Entry]) -> ExplainDocument:
    return {
        "schema": SCHEMA,
        "input": query,
        "matches": [_match_document(match) for match in matches],
        "suggestions": [{"id": e.id, "name": e.name, "summary": e.summary} for e in suggestions],
    }


def list_document(entries: list[Entry], families: dict[str, int]) -> ExplainListDocument:
    return {
        "schema": SCHEMA,
        "families": families,
        "entries": [entry_document(entry) for entry in entries],
    }


def print_matches(console: Console, query: str, matches: list[Match]) -> None:
    from certgate.report._layout import pack
    from certgate.report._text import escape

    best = matches[0].score
    cards = [m for m in matches if m.score >= best - CARD_WINDOW]
    others = matches[len(cards) :]
    if len(matches) > 1:
        console.print(f"[bold]{escape(query)}[/]: {len(matches)} readings, most likely first")
    for match in cards:
        console.print(_card(match))
        references = [str(reference) for reference in match.entry.references]
        for line in pack(references, console.width, "  references: ", " · "):
            console.print(line, style="dim", markup=False, soft_wrap=True)
    if others:
        console.print(_others(others))


def _card(match: Match) -> Panel:
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    from certgate.report._text import escape

    entry = match.entry
    parts: list[Any] = [
        Text(entry.summary, style="bold"),
        Text.assemble(("matched ", "dim"), (match.text, "cyan"), (f": {match.why}", "dim")),
    ]
    if entry.forms:
        forms = " · ".join(f"{label} {text}" for label, text in entry.forms)
        parts.append(Text.assemble(("forms: ", "dim"), forms))
    parts += [Text(""), Text(entry.meaning), Text("")]
    parts += [Text("Likely causes, most likely first", style="bold"), _causes(entry)]
    parts += [Text("Fix", style="bold"), _fixes(entry)]
    if entry.related:
        parts.append(Text.assemble(("see also: ", "dim"), ", ".join(entry.related)))
    title = f"[bold]{escape(entry.id)}[/]  {_confidence(entry.confidence)}"
    return Panel(Group(*parts), title=title, title_align="left", padding=(0, 1))


def _causes(entry: Entry) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table.grid(padding=(0, 1))
    table.add_column(justify="right", style="bold")
    table.add_column()
    for rank, cause in enumerate(entry.causes, start=1):
        text = Text(cause.text)
        if cause.confidence != entry.confidence:
            text.append(f" [{cause.confidence}]", style=_CONFIDENCE_STYLE[cause.confidence])
        text.append("\nconfirm: ", style="dim")
        text.append(cause.confirm)
        table.add_row(f"{rank}.", text)
    return table


def _fixes(entry: Entry) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold green")
    table.add_column()
    for fix in entry.fixes:
        table.add_row("•", Text(fix))
    return table


def _confidence(confidence: Confidence) -> str:
    return f"[{_CONFIDENCE_STYLE[confidence]}]\\[{confidence}][/]"


def _others(matches: list[Match]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Less likely readings", title_justify="left", show_edge=False)
    table.add_column("#", justify="right")
    table.add_column("id", style="bold", no_wrap=True)
    table.add_column("summary, and why it is a reading")
    for match in matches:
        text = Text(match.entry.summary)
        text.append(f"\n{match.why}", style="dim")
        table.add_row(str(match.rank), match.entry.id, text)
    return table


def print_unknown(console: Console, query: str, suggestions: list[Entry]) -> None:
    from rich.table import Table

    from certgate.report._text import escape

    console.print(f"No knowledge-base entry matches [bold]{escape(query)}[/].")
    if not suggestions:
        console.print("Nothing close either; see [bold]certgate explain --list[/].")
        return
    table = Table(title="Closest entries", title_justify="left", show_edge=False)
    table.add_column("id", style="bold")
    table.add_column("summary")
    for entry in suggestions:
        table.add_row(entry.id, entry.summary)
    console.print(table)


def print_list(console: Console, entries: list[Entry], families: dict[str, int]) -> None:
    from rich.table import Table

    table = Table(show_edge=False)
    table.add_column("id", style="bold", no_wrap=True)
    table.add_column("name")
    table.add_column("summary")
    table.add_column("confidence")
    for entry in entries:
        table.add_row(entry.id, entry.name, entry.summary, _confidence(entry.confidence))
    console.print(table)
    counts = ", ".join(f"{family} {count}" for family, count in families.items() if count)
    console.print(f"{len(entries)} of {sum(families.values())} entries (per family: {counts})")
