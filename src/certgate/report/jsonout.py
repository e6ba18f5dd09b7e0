"""JSON documents with a stable shape: ``schema`` first, ISO-8601 UTC times, sorted nothing.

Every command's ``--json`` document starts with ``"schema": "certgate.<command>/<version>"``.
A version only changes when a key is removed or changes meaning; new keys may appear anytime.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from certgate.core.visible import UNSAFE_BEYOND_C0

if TYPE_CHECKING:  # only annotations: `certgate explain --json` does not load cryptography
    from certgate.core.model import Certificate
    from certgate.inputs import Origin
    from certgate.report.documents import CertDetailJson, CertRefJson, SettingOriginJson

__all__ = [
    "cert_detail",
    "cert_ref",
    "dump_row_lines",
    "dump_streamed",
    "dumps",
    "iso",
    "json_line",
    "json_text",
    "name_problems",
    "origins_json",
]


def iso(when: datetime) -> str:
    if when.tzinfo is not UTC:
        when = when.astimezone(UTC)
    return when.isoformat().replace("+00:00", "Z")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(document: Mapping[str, Any], *, indent: int | None = 2) -> str:
    """The document as JSON text. json escapes C0 controls itself; DEL, C1 controls, line
    separators and bidi marks are written as ``\\u`` escapes too, so a ``jq``-less reader sees no
    raw terminal control either (outside strings JSON has none of these characters)."""
    if "schema" not in document:
        raise ValueError("a certgate JSON document needs a schema key")
    return json_text(json.dumps(document, default=_default, indent=indent, ensure_ascii=False))


def dump_streamed(
    document: Mapping[str, Any], key: str, rows: Iterable[Any], write: Callable[[str], object]
) -> None:
    """``dumps(document)`` with ``document[key]`` the list of ``rows``, written a piece at a
    time: the rows are made and written one by one, never held all at once (an audit of
    100,000 certificates). Each row is one line; the rest is indented as ``dumps`` does."""
    dump_row_lines(document, key, (json_line(row) for row in rows), write)


def dump_row_lines(
    document: Mapping[str, Any], key: str, lines: Iterable[str], write: Callable[[str], object]
) -> None:
    """``dump_streamed`` with each row already made into its line by ``json_line``."""
    marker = f"certgate-rows-{id(lines):x}-{len(document)}"
    text = dumps({**document, key: marker})
    head, found, tail = text.partition(json.dumps(marker))
    if not found:
        raise ValueError(f"{key!r} is not a key of the document")
    write(head + "[")
    first = True
    for line in lines:
        write(("\n    " if first else ",\n    ") + line)
        first = False
    write(("]" if first else "\n  ]") + tail)


# ``json.dumps(row, default=_default, ensure_ascii=False)``, without making an encoder per row
_LINE_ENCODER = json.JSONEncoder(default=_default, ensure_ascii=False)


def json_line(row: Any) -> str:
    """One row of a streamed document as one line of JSON text (no raw line breaks)."""
    return json_text(_LINE_ENCODER.encode(row))


def json_text(text: str) -> str:
    """JSON text from ``json.dumps(..., ensure_ascii=False)`` with DEL, C1, separators and bidi
    marks escaped (valid JSON either way)."""
    if text.isascii() and "\x7f" not in text:  # every character escaped here is >= DEL
        return text
    return UNSAFE_BEYOND_C0.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def cert_ref(cert: Certificate) -> CertRefJson:
    """The short reference findings use: enough to find the certificate in certlm.msc."""
    return {"sha1": cert.sha1, "subject": str(cert.subject), "issuer": str(cert.issuer)}


def name_problems(cert: Certificate) -> list[str]:
    """Names are decoded lazily; a problem found on decoding is reported with the rest."""
    return [
        f"{role} {name.problem}"
        for role, name in (("subject", cert.subject), ("issuer", cert.issuer))
        if name.problem
    ]


def cert_detail(cert: Certificate) -> CertDetailJson:
    constraints = cert.basic_constraints
    return {
        **cert_ref(cert),
        "sha256": cert.sha256,
        "serial": cert.serial_hex,
        "self_signed": cert.self_signed.value == "yes",
        "self_signed_status": cert.self_signed.value,
        "ca": None if constraints is None else constraints.ca,
        "path_length": None if constraints is None else constraints.path_length,
        "not_before": iso(cert.not_before),
        "not_after": iso(cert.not_after),
        "key": str(cert.key_info),
        "signature_algorithm": cert.signature_algorithm.name,
        "source": cert.source,
        "friendly_name": cert.friendly_name,
        "parse_issues": list(cert.parse_issues) + name_problems(cert),
    }


def origins_json(origins: Iterable[Origin]) -> list[SettingOriginJson]:
    """Settings with where each came from (``certgate.inputs.provenance``): ``source`` is
    ``file:line`` (a bundle member as ``bundle.zip!schannel.reg:12``), ``file#element``, the
    flag, ``policy [trust]`` or ``default``."""
    return [{"name": o.subject, "value": o.value, "source": o.source} for o in origins]
