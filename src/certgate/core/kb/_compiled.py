"""The knowledge base pre-compiled into one JSON file, so a start-up does not parse 13 TOML files.

``data/compiled.json`` holds every entry as ``load_entries`` builds it from the TOML sources,
plus the SHA-256 of those sources. At run time the file is used only when that digest still
matches the TOML files beside it (reading and hashing them costs well under a millisecond, parsing
them ~30 ms); otherwise, or when the file is missing or not in this format, the knowledge base is
read from the TOML sources as before. The file is never written at run time: it is regenerated
with ``python tools/compile_kb.py`` and ``tests/test_kb.py`` fails when the checked-in
copy differs from what the sources and the binders (``_load``) produce now.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from typing import Any

from certgate.core.codes import FAMILIES
from certgate.core.kb._model import Confidence, Entry, LikelyCause, Reference

__all__ = ["COMPILED", "compile_entries", "load_compiled", "sources_digest"]

_FORMAT = 1  # the compiled file's "format" (logs/*.py FORMAT is a log format id)
COMPILED = "compiled.json"
# os.path, not pathlib: pathlib and its imports are ~4 ms of `certgate explain`'s start-up.
_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")  # noqa: PTH100,PTH118,PTH120


def sources_digest(read: Any = None) -> str:
    """SHA-256 over every family's TOML source, in ``FAMILIES`` order (names and bytes)."""
    digest = hashlib.sha256()
    for family in FAMILIES:
        name = f"{family}.toml"
        data: bytes = read(name) if read else _read(name)
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def compile_entries(entries: list[Entry], digest: str) -> str:
    """The JSON text of ``data/compiled.json`` for these entries (deterministic)."""
    rows = ",\n".join(
        json.dumps(_row(entry), ensure_ascii=False, separators=(",", ":")) for entry in entries
    )
    return f'{{"format":{_FORMAT},"sources":"{digest}","entries":[\n{rows}\n]}}\n'  # a line each


def load_compiled() -> list[Entry] | None:
    """The entries from ``data/compiled.json``, or None when it is missing, in another format,
    or compiled from TOML sources other than the ones shipped beside it."""
    try:
        document = json.loads(_read(COMPILED))
        if document.get("format") != _FORMAT or document.get("sources") != sources_digest():
            return None
        return [_entry(row) for row in document["entries"]]
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None  # not usable: the caller reads the TOML sources


def _read(name: str) -> bytes:
    with open(os.path.join(_DATA, name), "rb") as file:  # noqa: PTH118,PTH123
        return file.read()


def _row(entry: Entry) -> list[Any]:
    return [
        entry.id,
        entry.family,
        entry.code,
        entry.name,
        entry.summary,
        entry.meaning,
        [[cause.text, cause.confirm, cause.confidence.value] for cause in entry.causes],
        list(entry.fixes),
        [[reference.text, reference.kind] for reference in entry.references],
        entry.confidence.value,
        list(entry.aliases),
        list(entry.messages),
        list(entry.related),
        entry.value,
        [list(form) for form in entry.forms],
        entry.group,
        entry.common,
    ]


def _entry(row: list[Any]) -> Entry:
    (kb_id, family, code, name, summary, meaning, causes, fixes, references, confidence) = row[:10]
    aliases, messages, related, value, forms, group, common = row[10:]
    return Entry(
        id=kb_id,
        family=family,
        code=code,
        name=name,
        summary=summary,
        meaning=meaning,
        causes=tuple(
            LikelyCause(text, confirm, Confidence(mark)) for text, confirm, mark in causes
        ),
        fixes=tuple(fixes),
        references=tuple(Reference(text, kind) for text, kind in references),
        confidence=Confidence(confidence),
        aliases=tuple(aliases),
        messages=tuple(messages),
        related=tuple(related),
        value=value,
        forms=tuple((label, text) for label, text in forms),
        group=group,
        common=common,
    )


def main() -> None:
    """Regenerate ``data/compiled.json`` from the TOML sources (atomically)."""
    from certgate.core.kb._load import load_entries

    text = compile_entries(load_entries(), sources_digest())
    from pathlib import Path

    target = Path(_DATA) / COMPILED
    temporary = target.with_name(f"{COMPILED}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8", newline="\n")
    temporary.replace(target)
    print(f"wrote {target}", file=sys.stderr)
