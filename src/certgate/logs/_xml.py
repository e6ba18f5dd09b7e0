"""XML for log records, parsed safely: no entity expansion, no DTD, no network, no huge trees.

A billion-laughs or external-entity (XXE) file is refused as a whole with a clear message; it
is never expanded. Records are parsed one at a time, so one bad record costs only itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

from certgate._xml import DTD_MARKERS, safe_parser
from certgate.errors import InputError

if TYPE_CHECKING:
    from lxml import etree

__all__ = [
    "RecordError",
    "attribute",
    "child_text",
    "find",
    "int_text",
    "local",
    "parse_record",
    "parse_time",
    "refuse_dtd",
]

_parser = cache(safe_parser)  # built on first use: lxml is imported only to read XML
_DTD_MARKERS = DTD_MARKERS


class RecordError(ValueError):
    """A record that is not well-formed XML (or tries to use entities)."""


def refuse_dtd(head: bytes, path: str) -> None:
    """Log XML never needs a DTD: one that declares entities is an attack or a mistake."""
    for marker in _DTD_MARKERS:
        if marker in head:
            raise InputError(
                path,
                "XML with a DOCTYPE or entity declarations is refused: entities are never "
                "expanded (billion-laughs and external-entity protection)",
                f"byte {head.find(marker)}",
            )


def parse_record(record: bytes) -> etree._Element:
    for marker in _DTD_MARKERS:
        if marker in record:
            raise RecordError("DOCTYPE or entity declaration inside a record refused")
    from lxml import etree

    try:
        root = etree.fromstring(record, _parser())
    except etree.XMLSyntaxError as exc:
        raise RecordError(f"not well-formed XML: {exc.msg}") from None
    if root is None:
        raise RecordError("empty record")
    for _ in root.iter(etree.Entity):
        raise RecordError("entity reference refused (entities are never expanded)")
    return root


def local(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def child_text(parent: etree._Element | None, name: str) -> str | None:
    """Text of the first descendant with local name ``name``, whatever its namespace."""
    element = find(parent, name)
    if element is None:
        return None
    text = element.text
    return text.strip() if text and text.strip() else None


def find(parent: etree._Element | None, name: str) -> etree._Element | None:
    """The first element (``parent`` itself or a descendant, in document order) with local
    name ``name`` in any namespace or none; lxml's own ``{*}`` filter, not a Python loop."""
    if parent is None:
        return None
    return next(parent.iter(f"{{*}}{name}"), None)


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601 as Windows writes it (7 fractional digits, ``Z``); naive times are read as UTC;
    None when absent or not a time."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def attribute(element: etree._Element | None, name: str) -> str | None:
    """An attribute of an element that may be missing (None when either is)."""
    return element.get(name) if element is not None else None


def int_text(text: str | None) -> int | None:
    """A decimal number read from XML text, or None when it is missing or not a number."""
    try:
        return int(text) if text else None
    except ValueError:
        return None
