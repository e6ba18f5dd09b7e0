"""IIS W3C logs and the HTTP.sys error log (HTTPERR), docs/windows-model.md#iis-substatus."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import BinaryIO

from certgate.core.codes import HRESULTS, hresult_from_win32_status, hresult_name, kb_id
from certgate.core.events import LogEvent, excerpt, hresult_codes, iis_code
from certgate.logs._io import lines
from certgate.logs._registry import FileContext, log_format
from certgate.logs._scan import matching_lines

__all__ = ["CLIENT_CERT_SUBSTATUS", "parse_httperr", "parse_w3c"]

# 403.4/.5 SSL required, .7 certificate required, .12 mapper denied, .13 revoked,
# .16 untrusted or invalid, .17 expired or not yet valid (docs/windows-model.md#iis-substatus).
CLIENT_CERT_SUBSTATUS = frozenset({4, 5, 7, 12, 13, 16, 17})
_CERT_HRESULT_PREFIXES = ("CERT_E_", "TRUST_E_", "CRYPT_E_", "SEC_E_")
_RENEGOTIATION = HRESULTS[
    "ERROR_NOT_SUPPORTED"
]  # 500.0 + 0x80070032 on TLS 1.3 (docs/windows-model.md#negotiation)
_NEEDLES = (b" 403", b" 500 ")
_BENIGN_HTTPERR = frozenset({"Timer_ConnectionIdle"})


@dataclass
class _Header:
    """The W3C directives in force: ``#Fields`` may change anywhere in the file."""

    fields: dict[str, int] = field(default_factory=dict)
    day: date | None = None

    def read(self, line: str) -> None:
        directive, _, value = line[1:].partition(":")
        if directive == "Fields":
            self.fields = {name: i for i, name in enumerate(value.split())}
        elif directive == "Date":
            try:
                self.day = datetime.fromisoformat(value.strip()).date()
            except ValueError:
                self.day = None


def _looks_like_w3c(head: bytes) -> bool:
    return head.startswith(b"#") and b"#Fields:" in head


def _looks_like_httperr(head: bytes) -> bool:
    return _looks_like_w3c(head) and (
        b"#Software: Microsoft HTTP API" in head or b" s-reason" in head
    )


@log_format("iis-w3c", detect=_looks_like_w3c, priority=30)
def parse_w3c(stream: BinaryIO, ctx: FileContext) -> Iterator[LogEvent]:
    """IIS W3C logs (u_ex*.log): 403.4/.5/.7/.12/.13/.16/.17 and 500 with 0x80070032.

    ``#Fields`` may come in any order and change within a file; spaces are ``+``, empty values
    ``-``, times UTC. ``sc-win32-status`` names the HRESULT: a Win32 code for FACILITY_WIN32
    (``403 7 5``, ``500 0 50``), the unsigned decimal for others (``403 16 2148204809``); the
    full form of a Win32 HRESULT (2147942450) is read too (docs/windows-model.md#sc-win32-status).
    Custom fields whose name contains ``thumbprint``, ``subject`` or ``issuer`` fill the
    certificate fields (the mTLS gate logs the client thumbprint that way).
    """
    header = _Header()
    for number, _offset, raw in matching_lines(
        stream, _NEEDLES, ctx, headers=True, progress=ctx.progress
    ):
        line = _decode(raw, ctx)
        if line.startswith("#"):
            header.read(line)
            continue
        values = _row(line, header, number, ctx)
        if values is not None:
            event = _w3c_event(values, header, ctx.path, number, line)
            if event is not None:
                yield event


def _decode(raw: bytes, ctx: FileContext) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        ctx.note("lines that are not UTF-8 were decoded with replacement characters")
        return raw.decode("utf-8", errors="replace")


def _row(line: str, header: _Header, number: int, ctx: FileContext) -> dict[str, str] | None:
    cells = line.split()
    if not header.fields:
        ctx.skip(f"line {number}", "record before any #Fields header")
        return None
    if len(cells) != len(header.fields):
        ctx.skip(f"line {number}", f"{len(cells)} values for {len(header.fields)} #Fields")
        return None
    return {name: cells[i] for name, i in header.fields.items() if cells[i] != "-"}


def _w3c_event(
    values: dict[str, str], header: _Header, path: str, number: int, line: str
) -> LogEvent | None:
    status = _int(values.get("sc-status"))
    substatus = _int(values.get("sc-substatus"))
    win32 = _int(values.get("sc-win32-status"))
    hresult = hresult_from_win32_status(win32) if win32 is not None and win32 >= 0 else None
    if status is None or not _relevant(status, substatus, hresult):
        return None
    query = values.get("cs-uri-query")
    stem = values.get("cs-uri-stem") or values.get("cs-uri")
    certificate = _certificate_fields(values)
    return LogEvent(
        source=path,
        format="iis-w3c",
        time=_time(values, header.day),
        line=number,
        host=_plus(values.get("cs-host") or values.get("s-computername")),
        client_ip=values.get("c-ip"),
        url=f"{stem}?{query}" if stem and query else stem,
        status=status,
        substatus=substatus,
        win32_status=win32,
        hresult=hresult if hresult and hresult_name(hresult) else None,
        subject=certificate.get("subject"),
        issuer=certificate.get("issuer"),
        thumbprint=certificate.get("thumbprint"),
        raw=excerpt(line),
        codes=(iis_code(status, substatus), *hresult_codes(hresult)),
    )


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
        lowered = name.lower()
        for kind in ("thumbprint", "subject", "issuer"):
            if kind in lowered and kind not in found:
                found[kind] = value.replace("+", " ")
    if "thumbprint" in found:
        found["thumbprint"] = found["thumbprint"].replace(":", "").replace(" ", "").upper()
    return found


def _time(values: dict[str, str], day: date | None) -> datetime | None:
    text = values.get("date") or (day.isoformat() if day else None)
    clock = values.get("time")
    if not text or not clock:
        return None
    try:
        return datetime.fromisoformat(f"{text}T{clock}").replace(tzinfo=UTC)
    except ValueError:
        return None


def _plus(value: str | None) -> str | None:
    return value.replace("+", " ") if value else value


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

    Every row except idle-connection timeouts becomes an event with code
    ``iis:httperr-<s-reason>``. Which reasons follow a client-certificate or TLS failure is
    [unconfirmed]; the doctor weighs them as context, not proof.
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
        values = _row(line, header, number, ctx)
        if values is None or values.get("s-reason") in _BENIGN_HTTPERR:
            continue
        yield _httperr_event(values, header, ctx.path, number, line)


def _httperr_event(
    values: dict[str, str], header: _Header, path: str, number: int, line: str
) -> LogEvent:
    reason = values.get("s-reason", "unknown")
    return LogEvent(
        source=path,
        format="httperr",
        time=_time(values, header.day),
        line=number,
        client_ip=values.get("c-ip"),
        url=values.get("cs-uri"),
        status=_int(values.get("sc-status")),
        message=reason,
        raw=excerpt(line),
        codes=(kb_id("iis", f"httperr-{reason}"),),
    )
