"""The log-format registry: each parser registers its id, detector and docstring by decorator.

Like the rules registry (``certgate.core.rules._registry``): the id comes from the decorator,
the description from the parser's docstring, and registering an id twice is an error.
Detection runs in ascending ``priority`` over the first bytes of the (decompressed, UTF-8)
content; the first detector that accepts them wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from inspect import cleandoc
from pathlib import Path
from typing import BinaryIO

from certgate.core.events import LogEvent

__all__ = [
    "FORMATS",
    "FileContext",
    "LogFormat",
    "Problem",
    "log_format",
    "sniff_log_format",
]

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_PROBLEMS = 50

Parse = Callable[[BinaryIO, "FileContext"], Iterator[LogEvent]]
Detect = Callable[[bytes], bool]


@dataclass(frozen=True)
class Problem:
    """A record that could not be read: where it is, and why it was skipped."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class FileContext:
    """What a parser knows about the file it reads, and where it reports skipped records."""

    path: str
    disk_path: Path | None = None
    head: bytes = b""  # the first bytes, as detection saw them
    progress: Callable[[int], None] | None = None  # called with bytes read so far
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Records read and understood that are not client-certificate events, by kind
    # ("other HTTP.sys errors: ConnLimit"): reported, never evidence.
    other: dict[str, int] = field(default_factory=dict)
    fields: tuple[str, ...] | None = None  # --fields: the W3C header the user gave

    def skip(self, where: str, message: str, count: int = 1) -> None:
        self.skipped += count
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(where, message))

    def count_other(self, kind: str) -> None:
        if kind in self.other or len(self.other) < MAX_PROBLEMS:
            self.other[kind] = self.other.get(kind, 0) + 1

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@dataclass(frozen=True)
class LogFormat:
    id: str
    title: str
    description: str
    detect: Detect = field(repr=False)
    parse: Parse = field(repr=False)
    priority: int = 50


FORMATS: dict[str, LogFormat] = {}


def log_format(format_id: str, *, detect: Detect, priority: int = 50) -> Callable[[Parse], Parse]:
    if not _ID.match(format_id):
        raise ValueError(f"log format id {format_id!r} must be lower-case words joined by -")

    def register(parse: Parse) -> Parse:
        if format_id in FORMATS:
            raise ValueError(f"log format {format_id} is registered twice")
        if not parse.__doc__:
            raise ValueError(f"log format {format_id} needs a docstring: it is the description")
        doc = cleandoc(parse.__doc__)
        FORMATS[format_id] = LogFormat(format_id, doc.splitlines()[0], doc, detect, parse, priority)
        return parse

    return register


def sniff_log_format(head: bytes) -> LogFormat | None:
    """The log format whose detector accepts the first bytes ``head`` of a file, or None."""
    for item in sorted(FORMATS.values(), key=lambda f: (f.priority, f.id)):
        if item.detect(head):
            return item
    return None
