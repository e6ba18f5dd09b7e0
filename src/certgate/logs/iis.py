"""IIS W3C logs and the HTTP.sys error log (HTTPERR), with or without their ``#Fields`` header.

Rows pasted into tickets and web pages lose the header, get wrapped, redacted (``<IP_address>``,
``...``) or wrapped in HTML: ``iis-pasted`` reads them by the shape of IIS's default fields
(``sc-status sc-substatus sc-win32-status`` side by side) and says so.
Substatus meanings: docs/windows-model.md#iis-substatus.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import BinaryIO

from certgate.core.codes import HRESULTS, hresult_from_win32_status, hresult_name, kb_id
from certgate.core.events import LogEvent, client_address, excerpt, hresult_codes, iis_code
from certgate.logs._io import lines
from certgate.logs._registry import FileContext, log_format
from certgate.logs._scan import matching_lines

__all__ = [
    "CLIENT_CERT_SUBSTATUS",
    "HTTPERR_FIELDS",
    "IIS_DEFAULT_FIELDS",
    "parse_httperr",
    "parse_pasted",
    "parse_w3c",
    "relevant_status",
]

# 403.4/.5 SSL required, .7 certificate required, .12 mapper denied, .13 revoked,
# .16 untrusted or invalid, .17 expired or not yet valid (docs/windows-model.md#iis-substatus).
CLIENT_CERT_SUBSTATUS = frozenset({4, 5, 7, 12, 13, 16, 17})
_CERT_HRESULT_PREFIXES = ("CERT_E_", "TRUST_E_", "CRYPT_E_", "SEC_E_")
# 500.0 + 0x80070032 on TLS 1.3 (docs/windows-model.md#negotiation)
_RENEGOTIATION = HRESULTS["ERROR_NOT_SUPPORTED"]
_NEEDLES = (b" 403", b" 500 ")

# IIS 7.5+ default W3C fields (logExtFileFlags default), in IIS's fixed order.
IIS_DEFAULT_FIELDS = (
    "date",
    "time",
    "s-ip",
    "cs-method",
    "cs-uri-stem",
    "cs-uri-query",
    "s-port",
    "cs-username",
    "c-ip",
    "cs(User-Agent)",
    "cs(Referer)",
    "sc-status",
    "sc-substatus",
    "sc-win32-status",
    "time-taken",
)
# HTTP.sys error log fields: IIS 10 adds streamid; earlier versions do not have it (KB 820729).
HTTPERR_FIELDS = (
    "date",
    "time",
    "c-ip",
    "c-port",
    "s-ip",
    "s-port",
    "cs-version",
    "cs-method",
    "cs-uri",
    "streamid",
    "sc-status",
    "s-siteid",
    "s-reason",
    "s-queuename",
)
_HTTPERR_FIELDS_OLD = tuple(name for name in HTTPERR_FIELDS if name != "streamid")
# IIS 6 (KB 820729's examples): no s-queuename either.
_HTTPERR_FIELDS_IIS6 = tuple(name for name in _HTTPERR_FIELDS_OLD if name != "s-queuename")
# HTTPERR reasons that speak of TLS or certificates. None of the reasons Microsoft documents
# does ("Types of errors logged by the HTTP Server API"); a future one naming SSL/TLS/a
# certificate/handshake is taken as one.
_TLS_REASON = re.compile(r"ssl|tls|cert|handshake|renegot", re.IGNORECASE)
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\s|$)")
_DEFAULT_NOTE = (
    "no #Fields header before the rows: read with IIS's default field set "
    "(date time s-ip cs-method ... sc-status sc-substatus sc-win32-status time-taken)"
)


# The fields a W3C event is built from (besides certificate fields, found by name).
_EVENT_FIELDS = frozenset(
    {
        "date",
        "time",
        "sc-status",
        "sc-substatus",
        "sc-win32-status",
        "cs-uri-stem",
        "cs-uri-query",
        "cs-uri",
        "cs-host",
        "s-computername",
        "c-ip",
    }
)
_CERTIFICATE_KINDS = ("thumbprint", "subject", "issuer")
# Caches keep only values this short (statuses, dates, times, field names): a hostile log's
# megabyte-long values are read each time, never kept.
_CACHED_LENGTH = 64


@dataclass
class _Header:
    """The W3C directives in force: ``#Fields`` may change anywhere in the file."""

    fields: dict[str, int] = field(default_factory=dict)
    day: date | None = None
    _event_fields: tuple[dict[str, int], tuple[tuple[str, int], ...]] | None = None

    def event_fields(self) -> tuple[tuple[str, int], ...]:
        """(name, index) of the fields an event reads, in ``fields`` order: once per block."""
        if self._event_fields is None or self._event_fields[0] is not self.fields:
            wanted = tuple(
                (name, index)
                for name, index in self.fields.items()
                if name in _EVENT_FIELDS or _certificate_kinds(name)
            )
            self._event_fields = (self.fields, wanted)
        return self._event_fields[1]

    def read(self, line: str) -> None:
        directive, _, value = line[1:].partition(":")
        if directive == "Fields":
            self.fields = _field_map(value.split())
        elif directive == "Date":
            try:
                self.day = datetime.fromisoformat(value.strip()).date()
            except ValueError:
                self.day = None


def _field_map(names: Sequence[str]) -> dict[str, int]:
    return {name: i for i, name in enumerate(names)}


def _head_rows(head: bytes) -> list[str]:
    text = head.decode("utf-8", errors="replace")
    return [line for line in text.splitlines()[:30] if line.strip()]


def _fits_w3c_default(cells: list[str]) -> bool:
    return (
        len(cells) == len(IIS_DEFAULT_FIELDS)
        and all(_is_int(cells[i]) for i in (11, 12, 13))
        and _DATE_TIME.match(f"{cells[0]} {cells[1]}") is not None
    )


def _httperr_defaults(cells: list[str]) -> tuple[str, ...] | None:
    if not _DATE_TIME.match(f"{cells[0]} {cells[1]}" if len(cells) > 1 else ""):
        return None
    for names in (HTTPERR_FIELDS, _HTTPERR_FIELDS_OLD, _HTTPERR_FIELDS_IIS6):
        if len(cells) == len(names):
            version = cells[names.index("cs-version")]
            status = cells[names.index("sc-status")]
            if (version == "-" or version.startswith("HTTP/")) and (
                status == "-" or _is_int(status)
            ):
                return names
    return None


def _looks_like_w3c(head: bytes) -> bool:
    if head.startswith(b"#") and b"#Fields:" in head:
        return True
    rows = [row.split() for row in _head_rows(head) if not row.startswith("#")]
    return bool(rows) and all(_fits_w3c_default(cells) for cells in rows[:5])


def _looks_like_httperr(head: bytes) -> bool:
    if head.startswith(b"#") and b"#Fields:" in head:
        return b"#Software: Microsoft HTTP API" in head or b" s-reason" in head
    rows = [row.split() for row in _head_rows(head) if not row.startswith("#")]
    return bool(rows) and all(_httperr_defaults(cells) for cells in rows[:5])


@log_format("iis-w3c", detect=_looks_like_w3c, priority=30)
def parse_w3c(stream: BinaryIO, ctx: FileContext) -> Iterator[LogEvent]:
    """IIS W3C logs (u_ex*.log): 403.4/.5/.7/.12/.13/.16/.17 and 500 with 0x80070032.

    ``#Fields`` may come in any order and change within a file; spaces are ``+``, empty values
    ``-``, times UTC. ``sc-win32-status`` names the HRESULT: a Win32 code for FACILITY_WIN32
    (``403 7 5``, ``500 0 50``), the unsigned decimal for others (``403 16 2148204809``); the
    full form of a Win32 HRESULT (2147942450) is read too (docs/windows-model.md#sc-win32-status).
    Custom fields whose name contains ``thumbprint``, ``subject`` or ``issuer`` fill the
    certificate fields (the mTLS gate logs the client thumbprint that way). Rows before any
    ``#Fields`` header are read with ``--fields`` when given, else with IIS's default field set
    when they have its shape (and the output says so).
    """
    header = _Header()
    for number, _offset, raw in matching_lines(
        stream, _NEEDLES, ctx, headers=True, progress=ctx.progress
    ):
        line = _decode(raw, ctx)
        if line.startswith("#"):
            header.read(line)
            continue
        values = _row(line, header, number, ctx, _w3c_fallback, event_fields=True)
        if values is not None:
            event = _w3c_event(values, header.day, ctx.path, number, line)
            if event is not None:
                yield event
            else:
                _count_other_row(values, ctx)


def _w3c_fallback(cells: list[str]) -> tuple[str, ...] | None:
    return IIS_DEFAULT_FIELDS if _fits_w3c_default(cells) else None


def _decode(raw: bytes, ctx: FileContext) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        ctx.note("lines that are not UTF-8 were decoded with replacement characters")
        return raw.decode("utf-8", errors="replace")


def _row(
    line: str,
    header: _Header,
    number: int,
    ctx: FileContext,
    fallback: Callable[[list[str]], tuple[str, ...] | None],
    *,
    event_fields: bool = False,
) -> dict[str, str] | None:
    """The row's values by field name (``-`` left out); with ``event_fields``, only those a
    W3C event reads (a row is read for its few fields, not all of them)."""
    cells = line.split()
    if not header.fields:
        names = ctx.fields or fallback(cells)
        if names is None:
            ctx.skip(
                f"line {number}",
                "record before any #Fields header, not in IIS's default shape: "
                + excerpt(line, 80),
            )
            return None
        header.fields = _field_map(names)
        ctx.note(
            f"no #Fields header before the rows: read with --fields ({' '.join(names)})"
            if ctx.fields
            else _DEFAULT_NOTE
            if names == IIS_DEFAULT_FIELDS
            else "no #Fields header before the rows: read with HTTP.sys's default fields "
            f"({' '.join(names)})"
        )
    if len(cells) != len(header.fields):
        ctx.skip(
            f"line {number}",
            f"{len(cells)} values for {len(header.fields)} #Fields: {excerpt(line, 80)}",
        )
        return None
    pairs = header.event_fields() if event_fields else header.fields.items()
    return {name: cells[i] for name, i in pairs if cells[i] != "-"}


def _w3c_event(
    values: dict[str, str],
    day: date | None,
    path: str,
    number: int,
    line: str,
    format_id: str = "iis-w3c",
) -> LogEvent | None:
    judged = _judge(
        values.get("sc-status"), values.get("sc-substatus"), values.get("sc-win32-status")
    )
    if judged is None:
        return None
    status, substatus, win32, hresult, codes = judged
    query = values.get("cs-uri-query")
    stem = values.get("cs-uri-stem") or values.get("cs-uri")
    certificate = _certificate_fields(values)
    return LogEvent(
        source=path,
        format=format_id,
        time=_time(values, day),
        line=number,
        host=_plus(values.get("cs-host") or values.get("s-computername")),
        client_ip=client_address(values.get("c-ip")),
        url=f"{stem}?{query}" if stem and query else stem,
        status=status,
        substatus=substatus,
        win32_status=win32,
        hresult=hresult,
        subject=certificate.get("subject"),
        issuer=certificate.get("issuer"),
        thumbprint=certificate.get("thumbprint"),
        raw=excerpt(line),
        codes=codes,
    )


_Judged = tuple[int, int | None, int | None, int | None, tuple[str, ...]]


def _judge(
    status_text: str | None, substatus_text: str | None, win32_text: str | None
) -> _Judged | None:
    """(status, substatus, win32, known HRESULT, codes) of a client-certificate failure's
    status fields, else None. Rows repeat the same few triples: each is judged once (values
    too long to be statuses are judged each time and never kept)."""
    if _short(status_text, substatus_text, win32_text):
        return _judged(status_text, substatus_text, win32_text)
    return _judge_now(status_text, substatus_text, win32_text)


def _short(*texts: str | None) -> bool:
    return all(text is None or len(text) <= _CACHED_LENGTH for text in texts)


def _judge_now(
    status_text: str | None, substatus_text: str | None, win32_text: str | None
) -> _Judged | None:
    status = _int(status_text)
    substatus = _int(substatus_text)
    win32 = _int(win32_text)
    hresult = hresult_from_win32_status(win32) if win32 is not None and win32 >= 0 else None
    if status is None or not _relevant(status, substatus, hresult):
        return None
    codes = (iis_code(status, substatus), *hresult_codes(hresult))
    return status, substatus, win32, hresult if hresult and hresult_name(hresult) else None, codes


_judged = lru_cache(maxsize=1024)(_judge_now)


def _count_other_row(values: dict[str, str], ctx: FileContext) -> None:
    status = values.get("sc-status", "-")
    substatus = values.get("sc-substatus")
    code = f"{status}.{substatus}" if substatus is not None else status
    ctx.count_other(f"IIS {code} rows (not a client-certificate failure)")


def relevant_status(status: int, substatus: int | None, hresult: int | None) -> bool:
    """An IIS status that is a client-certificate failure (also FREB's)."""
    return _relevant(status, substatus, hresult)


def _relevant(status: int, substatus: int | None, hresult: int | None) -> bool:
    if status == 403 and substatus in CLIENT_CERT_SUBSTATUS:
        return True
    if status == 500 and hresult == _RENEGOTIATION:  # logged "500 0 50" (or 2147942450)
        return True
    name = hresult_name(hresult) if hresult else None
    return status == 403 and name is not None and name.startswith(_CERT_HRESULT_PREFIXES)


def _certificate_fields(values: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in values.items():
        if name in _EVENT_FIELDS:  # none of them names a certificate
            continue
        for kind in _certificate_kinds(name):
            if kind not in found:
                found[kind] = value.replace("+", " ")
    if "thumbprint" in found:
        found["thumbprint"] = found["thumbprint"].replace(":", "").replace(" ", "").upper()
    return found


def _certificate_kinds(name: str) -> tuple[str, ...]:
    """The certificate fields a custom field fills, by its name (``crypt-thumbprint``)."""
    return _kinds(name) if len(name) <= _CACHED_LENGTH else _kinds_now(name)


def _kinds_now(name: str) -> tuple[str, ...]:
    lowered = name.lower()
    return tuple(kind for kind in _CERTIFICATE_KINDS if kind in lowered)


_kinds = lru_cache(maxsize=256)(_kinds_now)


def _time(values: dict[str, str], day: date | None) -> datetime | None:
    text = values.get("date") or (day.isoformat() if day else None)
    clock = values.get("time")
    if not text or not clock:
        return None
    return _at(text, clock) if _short(text, clock) else _at_now(text, clock)


def _at_now(text: str, clock: str) -> datetime | None:
    try:
        return datetime.fromisoformat(f"{text}T{clock}").replace(tzinfo=UTC)
    except ValueError:
        return None


# Rows come many to the second: each time is read once.
_at = lru_cache(maxsize=1024)(_at_now)


def _plus(value: str | None) -> str | None:
    return value.replace("+", " ") if value else value


def _is_int(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


@log_format("httperr", detect=_looks_like_httperr, priority=20)
def parse_httperr(stream: BinaryIO, ctx: FileContext) -> Iterator[LogEvent]:
    """HTTP.sys error log (httperr*.log): requests HTTP.sys refused before IIS saw them.

    Only rows whose reason speaks of TLS or certificates are client-certificate events (code
    ``iis:httperr-<s-reason>``); none of the reasons Microsoft documents does, so every other
    row (ConnLimit, Hostname, Timer_ConnectionIdle, ...) is counted as "other HTTP.sys errors"
    and never supports a cause. Rows without a ``#Fields`` header are read with HTTP.sys's
    default fields when they have their shape.
    """
    header = _Header()
    for number, raw in enumerate(lines(stream), start=1):
        line = _decode(raw.rstrip(b"\r\n"), ctx)
        if line.startswith("#"):
            header.read(line)
            continue
        if not line.strip() or "\x00" in line:
            if "\x00" in line:
                ctx.skip(f"line {number}", "binary data (NUL bytes) skipped")
            continue
        values = _row(line, header, number, ctx, _httperr_defaults)
        if values is None:
            continue
        reason = values.get("s-reason", "unknown")
        if _TLS_REASON.search(reason):
            yield _httperr_event(values, reason, header.day, ctx.path, number, line)
        else:
            ctx.count_other(f"other HTTP.sys errors: {reason}")


def _httperr_event(
    values: dict[str, str], reason: str, day: date | None, path: str, number: int, line: str
) -> LogEvent:
    return LogEvent(
        source=path,
        format="httperr",
        time=_time(values, day),
        line=number,
        client_ip=client_address(values.get("c-ip")),
        url=values.get("cs-uri"),
        status=_int(values.get("sc-status")),
        message=reason,
        raw=excerpt(line),
        codes=(kb_id("iis", f"httperr-{reason}"),),
    )


# -- rows pasted without their header ---------------------------------------------------------

# sc-status sc-substatus sc-win32-status, side by side, as whole words.
_TRIPLE = re.compile(r"(?<!\S)([1-5]\d\d) (\d{1,3}) (\d{1,10})(?!\S)")
_HTTP_SHAPE = re.compile(
    r"(?:^|\s)(?:GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH|PROPFIND)\s|(?:^|\s)/\S*"
    r"|^\s*\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s"
)
_DATE_ANY = re.compile(r"(?<!\S)\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?!\S)")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_HTML = re.compile(rb"<(?:html|body|pre|td|div|p|br)\b", re.IGNORECASE)
_METHODS = frozenset({"GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "PROPFIND"})
_MAX_JOINED = 4
_PASTED_NOTE = (
    "IIS rows without a #Fields header: read by the shape of IIS's default fields "
    "(sc-status sc-substatus sc-win32-status side by side); other columns are guessed only "
    "when the row has all 15 default fields"
)


def _looks_pasted(head: bytes) -> bool:
    html_page = _HTML.search(head) is not None
    texts = [
        _clean(raw.decode("utf-8", errors="replace"), html_page) for raw in head.splitlines()[:400]
    ]
    return any(_row_shape(" ".join(texts[i : i + 2])) for i in range(len(texts)))


def _row_shape(text: str) -> re.Match[str] | None:
    """The status triple of a pasted row: beside a request's shape (a method, a path, a date
    and time), or with a full HRESULT as sc-win32-status (``403 16 2148204809``)."""
    for match in _TRIPLE.finditer(text):
        win32 = int(match.group(3))
        if _HTTP_SHAPE.search(text) or (win32 > 0xFFFF and hresult_name(win32)):
            return match
    return None


def _clean(text: str, html_page: bool) -> str:
    if html_page:
        import html  # only pasted HTML pages need it

        text = html.unescape(_TAG.sub(" ", text))
    return text.replace("\u00a0", " ").strip()


@log_format("iis-pasted", detect=_looks_pasted, priority=95)
def parse_pasted(stream: BinaryIO, ctx: FileContext) -> Iterator[LogEvent]:
    """IIS log rows pasted without their ``#Fields`` header (tickets, articles, web pages).

    Rows may be wrapped over several lines, redacted (``<IP_address>``, ``...``) or inside an
    HTML page. Each row's ``sc-status sc-substatus sc-win32-status`` triple is found by shape;
    a row with all 15 default fields (or with ``--fields``, or after a ``#Fields`` line in the
    text) is read field by field. Text that holds no row is counted as skipped.
    """
    html_page = _HTML.search(ctx.head) is not None
    header = _Header(fields=_field_map(ctx.fields) if ctx.fields else {})
    pending: list[tuple[int, str]] = []
    ctx.note(_PASTED_NOTE)
    for number, raw in enumerate(lines(stream), start=1):
        text = _clean(_decode(raw.rstrip(b"\r\n"), ctx), html_page)
        if text.startswith("#"):
            yield from _flush_pasted(pending, header, ctx)
            header.read(text)
            continue
        if not text or _DATE_TIME.match(text):
            yield from _flush_pasted(pending, header, ctx)
        if not text:
            continue
        pending.append((number, text))
        joined = " ".join(part for _, part in pending)
        match = _row_shape(joined)
        if (match and match.end() < len(joined)) or len(pending) >= _MAX_JOINED:
            yield from _flush_pasted(pending, header, ctx)
    yield from _flush_pasted(pending, header, ctx)


def _flush_pasted(
    pending: list[tuple[int, str]], header: _Header, ctx: FileContext
) -> Iterator[LogEvent]:
    if not pending:
        return
    number = pending[0][0]
    joined = " ".join(part for _, part in pending)
    where = f"line {number}" if len(pending) == 1 else f"lines {number}-{pending[-1][0]}"
    pending.clear()
    stamp = _DATE_ANY.search(joined)
    cells = joined[stamp.start() if stamp else 0 :].split()
    values: dict[str, str] | None
    if header.fields and len(cells) == len(header.fields):
        values = {name: cells[i] for name, i in header.fields.items() if cells[i] != "-"}
    elif _fits_w3c_default(cells):
        values = {name: cells[i] for i, name in enumerate(IIS_DEFAULT_FIELDS) if cells[i] != "-"}
    else:
        values = _by_shape(joined)
    if values is None or "sc-status" not in values:
        ctx.skip(where, f"not an IIS log row: {excerpt(joined, 80)}")
        return
    event = _w3c_event(values, header.day, ctx.path, number, joined, "iis-pasted")
    if event is None:
        _count_other_row(values, ctx)
        return
    yield event


def _by_shape(text: str) -> dict[str, str] | None:
    match = _row_shape(text)
    if match is None:
        return None
    values = dict(
        zip(("sc-status", "sc-substatus", "sc-win32-status"), match.groups(), strict=True)
    )
    stamp = _DATE_ANY.search(text)
    if stamp:
        values["date"], values["time"] = stamp.group(0).split()[:2]
    cells = text[: match.start()].split()
    for i, cell in enumerate(cells):
        if cell in _METHODS and i + 1 < len(cells) and cells[i + 1].startswith("/"):
            values["cs-method"], values["cs-uri-stem"] = cell, cells[i + 1]
            break
    return values
