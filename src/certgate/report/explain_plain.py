"""``certgate explain``'s cards as plain text, for output that is not a terminal, without rich.

Importing rich costs ~30 ms and rendering the cards ~10 ms of a ~0.1 s command (issue 17,
bench/startup.py). Written to a pipe or a file, rich styles nothing, so its layout is reproduced
here with string operations, character for character: rich's word wrap (``rich._wrap``), the
rounded panel of a card, the grids of causes and fixes, and the heavy-headed table of less
likely readings with the column widths ``report._fit`` gives it. Only what can be reproduced
exactly is: ``plain_matches`` returns None for anything else (a character rich does not measure
as one cell, a table ``report._fit`` would turn into a list, an environment that makes rich
style a pipe), and the caller renders with rich as before. tests/test_explain_plain.py holds
the two equal for every knowledge-base entry at several widths.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import IO

from certgate.core.kb import Entry, Match
from certgate.report._layout import pack, stream_width

__all__ = ["plain_matches", "plain_unknown", "plain_width"]

CARD_WINDOW = 20  # matches within this many points of the best get a card (both renderers)

# Characters rich measures as one cell by a plain lookup (rich.cells._SINGLE_CELL_UNICODE_RANGES),
# without the whitespace rich's wrap treats specially (only the ASCII space is allowed).
_ONE_CELL = frozenset(
    chr(code)
    for low, high in ((0x21, 0x7E), (0xA1, 0xAC), (0xAE, 0x2FF), (0x370, 0x482))
    for code in range(low, high + 1)
) | {" ", "•"}
_WORD = re.compile(r"\s*\S+\s*")  # rich._wrap.re_word
_TRAILING = re.compile(r"\s+$")
_EMOJI = re.compile(r"(:(\S*?)(?:(?:\-)(emoji|text))?:)")  # rich._emoji_replace
_HANG = re.compile(r"^(\s*(?:(?:[-*•]|\d+\.)\s+)?)\S")  # report._fit._HANG


class _Unsupported(Exception):
    """Something rich would lay out in a way this module does not reproduce."""


def plain_width(stream: IO[str]) -> int | None:
    """The width to render at when rich would print ``stream`` unstyled and as laid out here;
    None when it would not (a terminal, FORCE_COLOR / TTY_COMPATIBLE set, a non-UTF encoding,
    Windows' legacy console)."""
    environment = os.environ
    if any(name in environment for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")):
        return None
    if sys.platform == "win32":
        return None
    encoding = (getattr(stream, "encoding", "utf-8") or "utf-8").lower()
    if not encoding.startswith("utf"):
        return None
    try:
        return stream_width(stream)
    except ValueError:  # a closed stream: let rich report it
        return None


def plain_matches(query: str, matches: Sequence[Match], width: int) -> str | None:
    """What ``report.explain.print_matches`` prints at ``width`` on an unstyled console, or None
    when this module cannot reproduce it exactly."""
    if not matches:
        return None  # print_unknown's layout
    try:
        return "".join(f"{line}\n" for line in _matches(query, list(matches), width))
    except _Unsupported:
        return None


def plain_unknown(query: str, suggestions: Sequence[Entry], width: int) -> str | None:
    """What ``report.explain.print_unknown`` prints at ``width`` on an unstyled console, or
    None when this module cannot reproduce it exactly."""
    try:
        return "".join(f"{line}\n" for line in _unknown(query, list(suggestions), width))
    except _Unsupported:
        return None


def _unknown(query: str, suggestions: list[Entry], width: int) -> Iterator[str]:
    heading = _markup(f"No knowledge-base entry matches {query}.")
    yield from _wrap(heading, width, fold=True)
    if not suggestions:
        yield from _wrap("Nothing close either; see certgate explain --list.", width, fold=True)
        return
    rows = [(_markup(entry.id), _markup(entry.summary)) for entry in suggestions]
    if any("[" in cell for row in rows for cell in row):
        raise _Unsupported("markup in a plain cell")  # rich reads these strings as markup
    yield from _table("Closest entries", ("id", "summary"), rows, ("left", "left"), None, width)


def _matches(query: str, matches: list[Match], width: int) -> Iterator[str]:
    best = matches[0].score
    cards = [m for m in matches if m.score >= best - CARD_WINDOW]
    others = matches[len(cards) :]
    if len(matches) > 1:
        heading = _markup(f"{query}: {len(matches)} readings, most likely first")
        hanging = _HANG.match(heading)
        if len(heading) > width and hanging and hanging.group(1):
            raise _Unsupported("report._fit would hang the wrapped lines")
        yield from _wrap(heading, width, fold=True)
    for match in cards:
        yield from _card(match, width)
        references = [_checked(str(reference)) for reference in match.entry.references]
        yield from pack(references, width, "  references: ", " · ")
    if others:
        yield from _others(others, width)


def _checked(text: str) -> str:
    if not _ONE_CELL.issuperset(text):
        raise _Unsupported("a character that is not one plain cell")
    return text


def _markup(text: str) -> str:
    """A string rich reads for markup (values escaped) and emoji codes: rich would replace a
    ``:name:`` it knows (``:100:``, not the ``:00:`` of a time) by an emoji."""
    for candidate in _EMOJI.finditer(_checked(text)):
        from rich._emoji_codes import EMOJI  # rare: only for text with two colons

        if candidate.group(2).lower() in EMOJI:
            raise _Unsupported("an emoji code")
    return text


# -- rich's word wrap (rich.text.Text.wrap, justify "default") ----------------------------------


def _wrap(text: str, width: int, *, fold: bool, no_wrap: bool = False) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        pieces = [paragraph] if no_wrap else _divide(paragraph, width, fold)
        lines += [_fitted(piece, width, fold, strip=not no_wrap) for piece in pieces]
    return lines


def _fitted(piece: str, width: int, fold: bool, *, strip: bool) -> str:
    """``Text.rstrip_end`` (whitespace beyond ``width``), then ``Text.truncate``."""
    if strip and len(piece) > width and (trailing := _TRAILING.search(piece)):
        piece = piece[: len(piece) - min(len(trailing.group(0)), len(piece) - width)]
    if len(piece) > width:
        piece = piece[:width] if fold else piece[: width - 1] + "…"
    return piece


def _divide(text: str, width: int, fold: bool) -> list[str]:
    """``text`` cut where ``rich._wrap.divide_line`` cuts it."""
    breaks: list[int] = []
    offset = 0
    position = 0
    while (word_match := _WORD.match(text, position)) is not None:
        start, end = word_match.span()
        word = word_match.group(0)
        position = end
        word_length = len(word.rstrip())
        if width - offset >= word_length:
            offset += len(word)
        elif word_length > width:
            if fold:
                folded = [word[i : i + width] for i in range(0, len(word), width)]
                for index, line in enumerate(folded):
                    if start:
                        breaks.append(start)
                    if index == len(folded) - 1:
                        offset = len(line)
                    else:
                        start += len(line)
            else:
                if start:
                    breaks.append(start)
                offset = len(word)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    edges = [0, *breaks, len(text)]
    return [text[a:b] for a, b in pairwise(edges)]


def _justify(lines: list[str], width: int, justify: str, ellipsis: bool) -> list[str]:
    """``rich.containers.Lines.justify`` for "left" and "right", then padded to ``width``."""
    return [_justified(line, width, justify, ellipsis) for line in lines]


def _justified(line: str, width: int, justify: str, ellipsis: bool) -> str:
    if justify == "right":
        line = line.rstrip()
    if len(line) > width:
        line = line[: width - 1] + "…" if ellipsis else line[:width]
    return line.rjust(width) if justify == "right" else line.ljust(width)


def _measure(text: str, limit: int) -> tuple[int, int]:
    """``Text.__rich_measure__``: (longest word, longest line), each at most ``limit``."""
    lines = text.splitlines()
    longest = max((len(line) for line in lines), default=0)
    words = text.split()
    shortest = max((len(word) for word in words), default=longest)
    return min(shortest, limit), min(longest, limit)


# -- a card: rich.panel.Panel(Group(...), title=..., padding=(0, 1)), box ROUNDED ---------------


def _card(match: Match, width: int) -> Iterator[str]:
    entry = match.entry
    inner = width - 4
    body: list[str] = []

    def text(value: str) -> None:
        body.extend(_wrap(_checked(value), inner, fold=True))

    text(entry.summary)
    text(f"matched {match.text}: {match.why}")
    if entry.forms:
        text("forms: " + " · ".join(f"{label} {value}" for label, value in entry.forms))
    text("")
    text(entry.meaning)
    text("")
    text("Likely causes, most likely first")
    causes = [
        (
            f"{rank}.",
            cause.text
            + (f" [{cause.confidence}]" if cause.confidence != entry.confidence else "")
            + "\nconfirm: "
            + cause.confirm,
        )
        for rank, cause in enumerate(entry.causes, start=1)
    ]
    body += _grid(causes, inner, "right")
    text("Fix")
    body += _grid([("•", fix) for fix in entry.fixes], inner, "left")
    if entry.related:
        text("see also: " + ", ".join(entry.related))
    yield _title_line(_markup(f"{entry.id}  [{entry.confidence}]"), width)
    for line in body:
        yield f"│ {line.ljust(inner)} │"
    yield f"╰{'─' * (width - 2)}╯"


def _title_line(title: str, width: int) -> str:
    padded = f" {title} "[: width - 4]
    return f"╭─{padded}{'─' * (width - 4 - len(padded))}─╮"


def _grid(rows: list[tuple[str, str]], width: int, justify: str) -> list[str]:
    """``Table.grid(padding=(0, 1))`` with a narrow first column, at most ``width`` wide."""
    for mark, value in rows:
        _checked(mark + value.replace("\n", " "))  # a line break of certgate's own
    first = max(len(mark) for mark, _ in rows) + 1  # the mark and one space of padding
    longest = max(_measure(value, width)[1] for _, value in rows)
    second = min(longest, width - first) if first + longest > width else longest
    if second < 1 or width - first < first:
        raise _Unsupported("a grid narrower than its marks")
    lines = []
    for mark, value in rows:
        wrapped = _justify(_wrap(value, second, fold=False), second, "left", True)
        head = _justify([mark], first - 1, justify, True)[0] + " "
        for number, line in enumerate(wrapped):
            lines.append((head if number == 0 else " " * first) + line)
    return lines


# -- less likely readings: Table(title=..., show_edge=False), box HEAVY_HEAD, fitted ------------


def _others(matches: list[Match], width: int) -> Iterator[str]:
    rows = [
        (str(m.rank), _markup(m.entry.id), f"{_checked(m.entry.summary)}\n{_checked(m.why)}")
        for m in matches
    ]
    if any("[" in rank + kb_id for rank, kb_id, _ in rows):
        raise _Unsupported("markup in a plain cell")
    headers = ("#", "id", "summary, and why it is a reading")
    yield from _table("Less likely readings", headers, rows, ("right", "left", "left"), 1, width)


def _table(
    title: str,
    headers: tuple[str, ...],
    rows: Sequence[tuple[str, ...]],
    justify: tuple[str, ...],
    no_wrap: int | None,
    width: int,
) -> Iterator[str]:
    """``Table(title=title, title_justify="left", show_edge=False)`` (box HEAVY_HEAD, padding
    (0, 1)) as fitted by ``report._fit``; column ``no_wrap`` is not wrapped."""
    columns = list(zip(headers, *rows, strict=True))
    widths = _fitted_widths(columns, width)
    table_width = sum(widths) + len(columns) - 1  # the vertical rules between the columns
    yield from _justify(_wrap(title, table_width, fold=True), table_width, "left", False)
    for index, row in enumerate([headers, *rows]):
        cells = [
            _justify(_wrap(cell, w - 2, fold=False, no_wrap=k == no_wrap), w - 2, justify[k], True)
            for k, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        height = max(len(cell) for cell in cells)
        shaped = []
        for cell, w in zip(cells, widths, strict=True):
            blank = [" " * (w - 2)] * (height - len(cell))
            lines = blank + cell if index == 0 else cell + blank  # a header sits at the bottom
            shaped.append([f" {line} " for line in lines])
        rule = "┃" if index == 0 else "│"
        for number in range(height):
            yield rule.join(cell[number] for cell in shaped)
        if index == 0:
            yield "╇".join("━" * w for w in widths)


def _fitted_widths(columns: list[tuple[str, ...]], width: int) -> list[int]:
    """Column widths (with their padding) as rich lays out the table ``report._fit`` returns."""
    extra = len(columns) - 1
    measures = []
    for column in columns:
        sizes = [_measure(cell, width - 2) for cell in column]
        measures.append((max(s[0] for s in sizes) + 2, max(s[1] for s in sizes) + 2))
    if sum(high for _, high in measures) + extra <= width:
        return [high for _, high in measures]
    minimum = [low for low, _ in measures]
    if sum(minimum) + extra > width:
        raise _Unsupported("report._fit would list the rows")
    widths = [max(high, low) for low, high in measures]
    while sum(widths) + extra > width:
        slack = [w - low for w, low in zip(widths, minimum, strict=True)]
        widest = max(range(len(widths)), key=lambda i: (slack[i], widths[i]))
        if slack[widest] <= 0:
            raise _Unsupported("report._fit would list the rows")
        widths[widest] -= 1
    return [max(1, w - 2) + 2 for w in widths]
