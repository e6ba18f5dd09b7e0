"""IIS Failed Request Tracing (FREB): ``fr*.xml`` files and their fields pasted as text.

A FREB file is one ``<failedRequest>`` document holding the request's events; the one that
matters is ``MODULE_SET_RESPONSE_ERROR_STATUS`` with ``HttpStatus``, ``HttpSubStatus`` and
``ErrorCode`` (the HRESULT, decimal, with its text and hex in the rendering). The whole file is
parsed (FREB files are small; the ``freb:`` prefix is declared on the root) with the same safe
parser as every other log XML. Support tickets often hold those fields pasted from the FREB
viewer (``HttpStatus 403 ... HttpSubStatus 16 ... ErrorCode 2148204809``): read too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO

from certgate.core.codes import hresult_from_win32_status, hresult_name
from certgate.core.events import LogEvent, excerpt, hresult_codes, iis_code
from certgate.errors import InputError
from certgate.logs._registry import FileContext, log_format
from certgate.logs._xml import RecordError, int_text, local, parse_record, parse_time, refuse_dtd
from certgate.logs.iis import relevant_status

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["parse_freb"]

FORMAT = "freb"
MAX_FREB = 32 << 20
_ROOT = b"<failedRequest"
_PASTED_STATUS = re.compile(r"\bHttpStatus\b\W{0,4}(\d{3})\b")
_PASTED_SUBSTATUS = re.compile(r"\bHttpSubStatus\b\W{0,4}(\d{1,3})\b")
_PASTED_ERROR = re.compile(r"\bErrorCode\b\W{0,4}(?:(0x[0-9A-Fa-f]{1,8})|(\d{1,10}))\b")
_PASTED_HEX = re.compile(r"\((0x[0-9A-Fa-f]{8})\)")
_PASTED_WINDOW = 1500


def _looks_like_freb(head: bytes) -> bool:
    if _ROOT in head:
        return True
    text = head.decode("utf-8", errors="replace")
    return bool(_PASTED_STATUS.search(text) and _PASTED_SUBSTATUS.search(text))


@log_format(FORMAT, detect=_looks_like_freb, priority=12)
def parse_freb(stream: BinaryIO, ctx: FileContext) -> Iterator[LogEvent]:
    """IIS Failed Request Tracing (``fr*.xml``) and FREB fields pasted as text.

    The request's ``MODULE_SET_RESPONSE_ERROR_STATUS`` (HttpStatus, HttpSubStatus, ErrorCode
    HRESULT) becomes an event when it is a client-certificate status (403.7/.13/.16/.17, ...),
    with the request's URL and verb; other failed requests are counted apart.
    """
    data = stream.read(MAX_FREB + 1)
    if len(data) > MAX_FREB:
        raise InputError(ctx.path, f"a FREB file over {MAX_FREB >> 20} MiB is not a FREB file")
    if _ROOT in data[:65536]:
        yield from _from_xml(data, ctx)
    else:
        yield from _from_text(data.decode("utf-8", errors="replace"), ctx)


def _from_xml(data: bytes, ctx: FileContext) -> Iterator[LogEvent]:
    refuse_dtd(data[:65536], ctx.path)
    start = data.find(_ROOT)
    try:
        root = parse_record(data[start:])
    except RecordError as exc:
        raise InputError(ctx.path, f"not a readable FREB file: {exc}") from None
    request = dict(root.attrib)
    status_text = str(request.get("statusCode", ""))
    found = None
    for element in root.iter():
        if local(element) != "Event":
            continue
        values = _event_data(element)
        if "HttpStatus" in values and "HttpSubStatus" in values:
            found = (element, values)
            if f"{values['HttpStatus']}.{values['HttpSubStatus']}" == status_text:
                break
    if found is None:
        status, _, sub = status_text.partition(".")
        values = {"HttpStatus": status, "HttpSubStatus": sub or "0"}
        when = None
    else:
        element, values = found
        when = parse_time(_attr(element, "TimeCreated", "SystemTime"))
    event = _event(values, ctx.path, when, str(request.get("url", "")) or None, None)
    if event is None:
        ctx.count_other(f"FREB failed requests with status {status_text or '?'}")
        return
    yield event


def _event_data(event: etree._Element) -> dict[str, str]:
    values: dict[str, str] = {}
    for element in event.iter():
        if local(element) == "Data" and element.get("Name"):
            values[str(element.get("Name"))] = (element.text or "").strip()
    return values


def _attr(parent: etree._Element, name: str, attribute: str) -> str | None:
    for element in parent.iter():
        if local(element) == name:
            value = element.get(attribute)
            return str(value) if value is not None else None
    return None


def _event(
    values: dict[str, str], path: str, when: datetime | None, url: str | None, line: int | None
) -> LogEvent | None:
    status = int_text(values.get("HttpStatus"))
    substatus = int_text(values.get("HttpSubStatus"))
    error = _error_code(values.get("ErrorCode", ""))
    hresult = hresult_from_win32_status(error) if error else None
    if status is None or not relevant_status(status, substatus, hresult):
        return None
    return LogEvent(
        source=path,
        format=FORMAT,
        time=when,
        line=line,
        url=url,
        status=status,
        substatus=substatus,
        win32_status=error,
        hresult=hresult if hresult and hresult_name(hresult) else None,
        message=excerpt(
            f"FREB MODULE_SET_RESPONSE_ERROR_STATUS {status}.{substatus}"
            + (f" ErrorCode {error}" if error else "")
        ),
        raw=excerpt(" ".join(f"{k}={v}" for k, v in values.items())),
        codes=(iis_code(status, substatus), *hresult_codes(hresult)),
    )


def _error_code(text: str) -> int | None:
    text = text.strip()
    hexed = _PASTED_HEX.search(text)
    try:
        if hexed:
            return int(hexed.group(1), 16)
        if text.lower().startswith("0x"):
            return int(text, 16)
        return int(text) if text.isdigit() else None
    except ValueError:
        return None


def _from_text(text: str, ctx: FileContext) -> Iterator[LogEvent]:
    ctx.note(
        "FREB fields pasted as text: read by their names (HttpStatus, HttpSubStatus, ErrorCode)"
    )
    for match in _PASTED_STATUS.finditer(text):
        window = text[match.start() : match.start() + _PASTED_WINDOW]
        following = _PASTED_STATUS.search(window, 1)
        if following:
            window = window[: following.start()]
        values = {"HttpStatus": match.group(1)}
        sub = _PASTED_SUBSTATUS.search(window)
        if sub is None:
            ctx.skip(_line(text, match.start()), "HttpStatus without HttpSubStatus")
            continue
        values["HttpSubStatus"] = sub.group(1)
        error = _PASTED_ERROR.search(window)
        hexed = _PASTED_HEX.search(window)
        if hexed:
            values["ErrorCode"] = hexed.group(1)
        elif error:
            values["ErrorCode"] = error.group(1) or error.group(2)
        number = int(_line(text, match.start()).split()[-1])
        event = _event(values, ctx.path, None, None, number)
        if event is None:
            ctx.count_other(f"FREB statuses {values['HttpStatus']}.{values['HttpSubStatus']}")
        else:
            yield event


def _line(text: str, offset: int) -> str:
    return f"line {text.count(chr(10), 0, offset) + 1}"
