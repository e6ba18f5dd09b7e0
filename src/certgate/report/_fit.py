"""Output that fits the terminal without cutting a token (issue 19).

Every report prints through ``SafeConsole``, which passes what it prints through ``fit``:

- a ``Table`` whose columns cannot all keep their longest word (a date, a thumbprint, a
  ``file:line``, a code) at this width becomes a list: one entry per row, ``Header: value``
  lines under it, each wrapped with a hanging indent. A table that fits is given column widths
  that never go below a column's longest word (rich's own squeeze ignores that and folds
  ``2024-03-0`` / ``5``);
- an indented or bulleted line (``   - text``, ``1. text``, ``  fix A: ...``) that wraps keeps
  its indentation on every wrapped line.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.table import Column, Table
from rich.text import Text

from certgate.report._layout import pack

__all__ = ["fit", "pack"]

_HANG = re.compile(r"^(\s*(?:(?:[-*•]|\d+\.)\s+)?)\S")


def fit(console: Console, renderable: Any, options: ConsoleOptions) -> Any:
    """``renderable`` as it should be printed at ``options.max_width``."""
    if isinstance(renderable, Table):
        return _fit_table(console, renderable, options)
    if isinstance(renderable, Text):
        return _hanging(renderable, options.max_width)
    return renderable


def _hanging(text: Text, width: int) -> RenderableType:
    plain = text.plain
    if "\n" in plain.rstrip("\n"):
        if all(len(line) <= width for line in plain.split("\n")):
            return text
        lines = text.split("\n", allow_blank=True)
        return Group(*(_hanging(line, width) for line in lines))
    if len(plain) <= width:
        return text
    match = _HANG.match(plain)
    if not match or not match.group(1) or len(match.group(1)) > width // 3:
        return text
    indent = len(match.group(1))
    grid = Table.grid(padding=0)
    grid.add_column(width=indent, no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(text[:indent], text[indent:])
    return grid


def _fit_table(console: Console, table: Table, options: ConsoleOptions) -> RenderableType:
    if not table.columns or (table.box is None and not table.show_header):
        return table  # a layout grid, not a data table
    width = options.max_width
    extra = table._extra_width  # borders between and around the columns
    measures = [table._measure_column(console, options, column) for column in table.columns]
    if sum(m.maximum for m in measures) + extra <= width:
        return table
    padding = [table._get_padding_width(column._index) for column in table.columns]
    minimum = [m.minimum for m in measures]
    if sum(minimum) + extra > width:
        return _as_list(console, table)
    widths = [max(m.maximum, low) for m, low in zip(measures, minimum, strict=True)]
    while sum(widths) + extra > width:
        slack = [w - low for w, low in zip(widths, minimum, strict=True)]
        widest = max(range(len(widths)), key=lambda i: (slack[i], widths[i]))
        if slack[widest] <= 0:
            return _as_list(console, table)
        widths[widest] -= 1
    fitted = _copy(table)
    fitted.columns = [
        replace(column, width=max(1, w - pad), min_width=None, max_width=None)
        for column, w, pad in zip(table.columns, widths, padding, strict=True)
    ]
    return fitted


def _copy(table: Table) -> Table:
    fitted = Table.__new__(Table)
    fitted.__dict__.update(table.__dict__)
    return fitted


def _plain(renderable: object) -> str:
    if isinstance(renderable, Text):
        return renderable.plain
    return renderable if isinstance(renderable, str) else ""


def _as_list(console: Console, table: Table) -> RenderableType:
    """One entry per row: the first column as its title, then ``Header: value`` lines."""
    parts: list[RenderableType] = []
    if table.title:
        title = table.title if isinstance(table.title, Text) else Text(str(table.title))
        parts.append(title)
    columns: list[Column] = table.columns
    cells = [list(column.cells) for column in columns]
    for row in range(table.row_count):
        grid = Table.grid(padding=(0, 1, 0, 0))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        first = cells[0][row] if cells[0] else ""
        head = Text(f"{_plain(columns[0].header)}: ", style="dim") if columns[0].header else ""
        grid.add_row("-", Text.assemble(head, _cell(console, first)))
        for column, values in zip(columns[1:], cells[1:], strict=True):
            value = values[row] if row < len(values) else ""
            label = Text(f"{_plain(column.header) or '-'}: ", style="dim")
            if isinstance(value, str | Text):
                text = _cell(console, value)
                if text.plain.strip():
                    grid.add_row("", Text.assemble(label, text))
            else:
                grid.add_row("", label)
                grid.add_row("", value)
        parts.append(grid)
    return Group(*parts)


def _cell(console: Console, value: object) -> Text:
    if isinstance(value, Text):
        return value
    return console.render_str(value) if isinstance(value, str) else Text("")
