"""WCF ``.svclog`` traces (XmlWriterTraceListener), docs/windows-model.md#wcf-svclog and
#wcf-native-error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from certgate.core.codes import kb_id
from certgate.core.events import LogEvent, excerpt, native_error_codes
from certgate.logs._registry import FileContext, log_format
from certgate.logs._scan import matching_records
from certgate.logs._xml import (
    RecordError,
    attribute,
    child_text,
    find,
    int_text,
    parse_record,
    parse_time,
    refuse_dtd,
)

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["parse_svclog"]

FORMAT = "svclog"
_START = b"<E2ETraceEvent"
_END = b"</E2ETraceEvent>"
# Every client-certificate trace names a certificate; message-security faults name Security.
_NEEDLES = (b"Certificate", b"Security")
_NATIVE = re.compile(r"native error code (0x[0-9A-Fa-f]+)")


def _detect(head: bytes) -> bool:
    return _START in head


@log_format(FORMAT, detect=_detect, priority=10)
def parse_svclog(stream: BinaryIO, ctx: FileContext) -> Iterator[LogEvent]:
    """WCF activity traces (.svclog): client-certificate and message-security traces.

    Root-less ``E2ETraceEvent`` fragments, one per line or not; a truncated last record is
    reported and skipped. HttpsClientCertificateInvalid (262159) with its native error code
    (0x109 is read as CERT_E_UNTRUSTEDROOT, [inferred]), HttpsClientCertificateNotPresent
    (262160), any trace from a Security namespace and any Security exception. Both the old
    msdn and the newer docs TraceIdentifier URLs are understood. Located by byte offset.
    """
    refuse_dtd(ctx.head, ctx.path)
    for offset, record in matching_records(
        stream, _START, _END, ctx, needles=_NEEDLES, progress=ctx.progress
    ):
        try:
            root = parse_record(record)
        except RecordError as exc:
            ctx.skip(f"byte {offset}", str(exc))
            continue
        event = _event(root, ctx.path, offset)
        if event is not None:
            yield event


def trace_code(identifier: str | None) -> tuple[str | None, str]:
    """(code, namespace) from either TraceIdentifier URL form."""
    if not identifier:
        return None, ""
    name = identifier.strip().rsplit("/", 1)[-1].removesuffix(".aspx")
    separator = "-" if "-" in name and "." not in name else "."
    namespace, _, code = name.rpartition(separator)
    return code or None, namespace.replace("-", ".")


def _event(root: etree._Element, path: str, offset: int) -> LogEvent | None:
    system = find(root, "System")
    record = find(root, "TraceRecord")
    code, namespace = trace_code(child_text(record, "TraceIdentifier"))
    description = child_text(record, "Description") or child_text(root, "ApplicationData") or ""
    exception_type = (child_text(record, "ExceptionType") or "").split(",")[0].strip()
    exception_text = child_text(record, "Message") or ""
    codes = _codes(code, namespace, exception_type, description + " " + exception_text)
    if codes is None:
        return None
    hresult, native = None, None
    notes: tuple[str, ...] = ()
    match = _NATIVE.search(description)
    if match:
        native = match.group(1)
        hresult, extra, notes = native_error_codes(native)
        codes += extra
    level_element = find(system, "SubType")
    return LogEvent(
        source=path,
        format=FORMAT,
        time=parse_time(attribute(find(system, "TimeCreated"), "SystemTime")),
        offset=offset,
        level=attribute(level_element, "Name")
        or (record.get("Severity") if record is not None else None),
        host=_header_host(record) or child_text(system, "Computer"),
        url=child_text(record, "Url") or child_text(record, "Path"),
        trace_code=code,
        native_error=native,
        hresult=hresult,
        event_id=int_text(child_text(system, "EventID")),
        message=excerpt(" ".join(filter(None, (description, exception_type, exception_text)))),
        raw=excerpt(description or exception_text),
        codes=codes,
        notes=notes,
    )


def _codes(
    code: str | None, namespace: str, exception_type: str, text: str
) -> tuple[str, ...] | None:
    """The knowledge-base ids for a record, or None when it is not security-related."""
    codes: list[str] = []
    if code and (code.startswith("HttpsClientCertificate") or ".Security" in f".{namespace}"):
        codes.append(kb_id("wcf", code))
    short_exception = exception_type.rsplit(".", 1)[-1]
    if "Security" in exception_type:
        codes.append(kb_id("wcf", short_exception))
    if codes or "certificate" in text.lower():
        return tuple(codes)
    return None


def _header_host(record: etree._Element | None) -> str | None:
    headers = find(record, "Headers")
    return child_text(headers, "Host") if headers is not None else None
