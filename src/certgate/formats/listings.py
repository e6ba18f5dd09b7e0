"""Certificate listings: PowerShell ``Format-List *`` / ``Format-Table`` output of
``Get-ChildItem Cert:\\LocalMachine\\<store>``, and ``certutil -store <store>`` dumps.

They identify certificates (subject, issuer, thumbprint, validity) without the certificates
themselves. One exception: ``Format-List *`` with ``$FormatEnumerationLimit = -1`` prints the
whole ``RawData`` array; then the DER is recovered and checked against the thumbprint.

Dates are printed in the exporting machine's culture and time zone. ``5/9/2021 4:28:13 PM``
(AM/PM) is month first, ``09.05.2021`` day first, ``2021-05-09`` year first; for 24-hour
``dd/mm/yyyy`` vs ``mm/dd/yyyy`` the order is inferred from a date in the same file that only fits
one, else left unknown. Times are read as UTC; rules allow for the unknown zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from certgate.core.listing import ListedCertificate
from certgate.core.model import Certificate
from certgate.core.stores import canonical_store_name
from certgate.errors import InputError
from certgate.formats._base import LoadWarning, make_certificate
from certgate.formats._text import decode_text

__all__ = ["Listing", "looks_like_listing", "parse_listing"]

_CERTUTIL_BLOCK = re.compile(r"^=+ Certificate (\d+) =+$")
_CERTUTIL_HEADER = re.compile(r'^([A-Za-z0-9][A-Za-z0-9 _.\-]*?) "[^"]*"$')
_FL_PROP = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_]*)\s*: ?(?P<value>.*)$")
_DASHES = re.compile(r"^-+(?:\s+-+)*\s*$")
_PARENT = re.compile(r"Certificate::(LocalMachine|CurrentUser)\\([^\\]+)\s*$", re.IGNORECASE)
_DATE = re.compile(
    r"^(\d{1,4})([./-])(\d{1,2})[./-](\d{1,4})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"\s*([AaPp]\.?\s?[Mm]\.?)?$"
)
_CERTUTIL_STATEMENTS = (
    "Signature matches Public Key",
    "Root Certificate: Subject matches Issuer",
    "Non-root Certificate",
)
_TRUNCATION = ("...", "…")


@dataclass(frozen=True)
class Listing:
    listed: tuple[ListedCertificate, ...] = ()
    # Certificates recovered whole from a complete RawData array: (store, certificate)
    recovered: tuple[tuple[str, Certificate], ...] = ()
    warnings: tuple[LoadWarning, ...] = ()
    kind: str = ""


def looks_like_listing(text: str) -> bool:
    head = text[:8192].replace("\r\n", "\n")
    return bool(
        re.search(r"^=+ Certificate \d+ =+$", head, re.MULTILINE)
        or re.search(r"^Thumbprint\s*: ", head, re.MULTILINE)
        or re.search(r"^\s*Thumbprint\s+\S", head, re.MULTILINE)
        or "Certificate::LocalMachine" in head
    )


def parse_listing(data: bytes, path: str, default_store: str | None = None) -> Listing:
    """Read any of the three listing kinds; ``default_store`` comes from the file's name."""
    text = decode_text(data, path)
    lines = text.splitlines()
    order = _date_order(text)
    if any(_CERTUTIL_BLOCK.match(ln.strip()) or ln.startswith("CertUtil:") for ln in lines):
        builder = _Builder(path, default_store, order, "certutil -store")
        _certutil(lines, builder)
    elif any(_DASHES.match(ln) and ln.strip() for ln in lines):
        builder = _Builder(path, default_store, order, "Format-Table")
        _table(lines, builder)
    else:
        builder = _Builder(path, default_store, order, "Format-List")
        _format_list(lines, builder)
    if not builder.listed and not builder.recovered:
        raise InputError(
            path,
            "no certificate found: expected `Format-List *` or `Format-Table` output of "
            "Get-ChildItem Cert:\\LocalMachine\\<store>, or a `certutil -store` dump",
        )
    return Listing(
        tuple(builder.listed), tuple(builder.recovered), tuple(builder.warnings), builder.kind
    )


# -- dates ------------------------------------------------------------------------------------


_SLASH_DATE = re.compile(
    r"(?<!\d)(\d{1,2})/(\d{1,2})/\d{4} \d{1,2}:\d{2}(?::\d{2})?(?![:\d])(?! ?[AaPp])"
)


def _date_order(text: str) -> str | None:
    """'dmy' or 'mdy' for ambiguous 24-hour slash dates, from the file's unambiguous ones."""
    orders = set()
    for line in text.splitlines():
        if "/" not in line or ":" not in line:
            continue
        for match in _SLASH_DATE.finditer(line):
            first, second = int(match.group(1)), int(match.group(2))
            if first > 12:
                orders.add("dmy")
            elif second > 12:
                orders.add("mdy")
    return orders.pop() if len(orders) == 1 else None


def _parse_date(text: str, order: str | None) -> datetime | None:
    match = _DATE.match(text.strip())
    if not match:
        return None
    a, sep, b, c, hour, minute, second, meridiem = match.groups()
    if len(a) == 4:
        year, month, day = int(a), int(b), int(c)
    elif len(c) == 4 and sep == ".":
        day, month, year = int(a), int(b), int(c)
    elif len(c) == 4 and (meridiem or order == "mdy"):
        month, day, year = int(a), int(b), int(c)
    elif len(c) == 4 and order == "dmy":
        day, month, year = int(a), int(b), int(c)
    else:
        return None
    hours = int(hour)
    if meridiem:
        pm = meridiem.lower().startswith("p")
        hours = hours % 12 + (12 if pm else 0)
    try:
        return datetime(year, month, day, hours, int(minute), int(second or 0), tzinfo=UTC)
    except ValueError:
        return None


# -- shared builder -----------------------------------------------------------------------------


@dataclass
class _Builder:
    path: str
    default_store: str | None
    order: str | None
    kind: str
    listed: list[ListedCertificate] = field(default_factory=list)
    recovered: list[tuple[str, Certificate]] = field(default_factory=list)
    warnings: list[LoadWarning] = field(default_factory=list)

    def warn(self, message: str, line: int) -> None:
        self.warnings.append(LoadWarning(self.path, message, f"line {line}"))

    def store(self, parent: str | None, line: int) -> str | None:
        """The LocalMachine store a record belongs to; None (with a warning) to skip it."""
        if parent:
            match = _PARENT.search(parent)
            if match and match.group(1).casefold() == "currentuser":
                self.warn("CurrentUser store skipped: Schannel uses LocalMachine stores", line)
                return None
            if match:
                return _store_name(match.group(2), self.path, line)
        if self.default_store:
            return self.default_store
        raise InputError(
            self.path,
            "the listing does not say which store it is (no PSParentPath, no certutil header); "
            "name the file after the store, e.g. stores/Root.txt",
            f"line {line}",
        )

    def date(self, text: str | None, what: str, line: int) -> datetime | None:
        if not text or _truncated(text):
            return None
        parsed = _parse_date(text, self.order)
        if parsed is None:
            self.warn(f"{what} {text.strip()[:40]!r} not understood: validity unknown", line)
        return parsed

    def add(self, fields: dict[str, str], store: str, line: int, **extra: object) -> None:
        thumbprint = _thumbprint(fields.get("thumbprint"))
        truncated = tuple(
            name
            for name in ("Subject", "Issuer", "FriendlyName")
            if _truncated(fields.get(name.lower()))
        )
        self.listed.append(
            ListedCertificate(
                store=store,
                thumbprint=thumbprint,
                subject=fields.get("subject") or None,
                issuer=fields.get("issuer") or None,
                not_before=self.date(fields.get("notbefore"), "NotBefore", line),
                not_after=self.date(fields.get("notafter"), "NotAfter", line),
                friendly_name=fields.get("friendlyname") or None,
                serial=fields.get("serialnumber") or None,
                source=f"{self.path}:{line}",
                listing=self.kind,
                truncated=truncated,
                **extra,  # type: ignore[arg-type]
            )
        )


def _store_name(name: str, path: str, line: int) -> str:
    try:
        return canonical_store_name(name)
    except ValueError as exc:
        raise InputError(path, str(exc), f"line {line}") from exc


def _truncated(text: str | None) -> bool:
    return bool(text) and text.rstrip().endswith(_TRUNCATION)  # type: ignore[union-attr]


def _thumbprint(text: str | None) -> str | None:
    if not text or _truncated(text):
        return None
    cleaned = re.sub(r"[\s:]", "", text).upper()
    return cleaned if re.fullmatch(r"[0-9A-F]{40}", cleaned) else None


# -- Format-List ----------------------------------------------------------------------------------


def _format_list(lines: list[str], builder: _Builder) -> None:
    for start, record in _records(lines):
        fields = {name.lower(): value.strip() for name, value in record.items()}
        if not fields.get("thumbprint") and not fields.get("subject"):
            continue
        store = builder.store(fields.get("psparentpath"), start)
        if store is None:
            continue
        cert = _raw_data(fields, builder, start)
        if cert is not None:
            builder.recovered.append((store, cert))
        else:
            builder.add(fields, store, start)


def _records(lines: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    record: dict[str, str] = {}
    start, column, last = 0, 0, ""
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            if record:
                yield start, record
            record, last = {}, ""
            continue
        match = _FL_PROP.match(raw)
        if match and not raw[0].isspace():
            if not record:
                start = number
            last, column = match["name"], match.start("value")
            record[last] = match["value"]
        elif last:
            record[last] += raw[column:] if not raw[:column].strip() else raw.strip()
    if record:
        yield start, record


def _raw_data(fields: dict[str, str], builder: _Builder, line: int) -> Certificate | None:
    raw = fields.get("rawdata", "").strip()
    if not raw.startswith("{") or not raw.endswith("}") or _truncated(raw[:-1]):
        return None
    try:
        der = bytes(int(n) for n in raw[1:-1].split(",") if n.strip())
        cert, _ = make_certificate(der, builder.path, f"line {line}", fields.get("friendlyname"))
    except (ValueError, InputError):
        builder.warn("RawData is not a readable certificate: kept as a listing only", line)
        return None
    wanted = _thumbprint(fields.get("thumbprint"))
    if wanted and cert.sha1 != wanted:
        builder.warn(f"RawData's SHA-1 {cert.sha1} differs from Thumbprint {wanted}", line)
        return None
    return cert


# -- Format-Table --------------------------------------------------------------------------------


def _table(lines: list[str], builder: _Builder) -> None:
    parent: str | None = None
    columns: list[tuple[str, int]] = []
    for number, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if stripped.startswith("PSParentPath:"):
            parent, columns = stripped.split(":", 1)[1].strip(), []
        elif _DASHES.match(raw) and stripped and number > 1:
            columns = _columns(lines[number - 2], raw)
        elif not stripped:
            continue
        elif columns and not _is_header(raw, columns):
            _table_row(raw, columns, parent, number, builder)


def _columns(header: str, dashes: str) -> list[tuple[str, int]]:
    starts = [m.start() for m in re.finditer(r"-+", dashes)]
    ends = [*starts[1:], None]
    return [(header[s:e].strip().lower(), s) for s, e in zip(starts, ends, strict=True)]


def _is_header(raw: str, columns: list[tuple[str, int]]) -> bool:
    return raw.strip().lower().startswith(columns[0][0]) and bool(columns[0][0])


def _table_row(
    raw: str, columns: list[tuple[str, int]], parent: str | None, number: int, builder: _Builder
) -> None:
    fields: dict[str, str] = {}
    for index, (name, start) in enumerate(columns):
        end = columns[index + 1][1] if index + 1 < len(columns) else None
        fields[name] = raw[start:end].strip()
    if not fields.get("thumbprint") and not fields.get("subject"):
        return
    store = builder.store(fields.get("psparentpath") or parent, number)
    if store is not None:
        builder.add(fields, store, number)


# -- certutil -store ----------------------------------------------------------------------------


_CERTUTIL_KEYS = {
    "serial number": "serialnumber",
    "issuer": "issuer",
    "notbefore": "notbefore",
    "notafter": "notafter",
    "subject": "subject",
    "cert hash(sha1)": "thumbprint",
}


def _certutil(lines: list[str], builder: _Builder) -> None:
    store = builder.default_store
    block: dict[str, str] | None = None
    said: list[str] = []
    start = 0
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        header = _CERTUTIL_HEADER.match(text)
        if block is None and header and not text.lower().startswith("certutil"):
            store = _store_name(header.group(1), builder.path, number)
        elif _CERTUTIL_BLOCK.match(text):
            _flush(block, said, store, start, builder)
            block, said, start = {}, [], number
        elif text.lower().startswith("certutil:"):
            if "failed" in text.lower():
                raise InputError(builder.path, f"certutil reported: {text[:80]}", f"line {number}")
            _flush(block, said, store, start, builder)
            block = None
        elif block is not None:
            _certutil_line(text, block, said)
    _flush(block, said, store, start, builder)


def _certutil_line(text: str, block: dict[str, str], said: list[str]) -> None:
    if text in _CERTUTIL_STATEMENTS:
        said.append(text)
        return
    key, sep, value = text.partition(":")
    if sep and key.strip().lower() in _CERTUTIL_KEYS:
        block[_CERTUTIL_KEYS[key.strip().lower()]] = value.strip()


def _flush(
    block: dict[str, str] | None, said: list[str], store: str | None, start: int, builder: _Builder
) -> None:
    if not block:
        return
    resolved = store or builder.store(None, start)
    if resolved is not None:
        builder.add(block, resolved, start, certutil_says=tuple(said))
