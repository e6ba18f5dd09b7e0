"""Schannel and CAPI2 Windows events, from ``.evtx`` files or exported XML
(docs/windows-model.md#capi2,
§6). Both paths end in the same event XML, read by one function."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO

from certgate.core.codes import decode_trust_bits, kb_id
from certgate.core.events import (
    CLIENT_AUTH,
    CLIENT_PURPOSES,
    LogEvent,
    excerpt,
    hresult_codes,
    tls_alert_codes,
)
from certgate.errors import InputError
from certgate.logs._registry import FileContext, log_format
from certgate.logs._scan import matching_records
from certgate.logs._xml import (
    RecordError,
    attribute,
    child_text,
    find,
    int_text,
    local,
    parse_record,
    parse_time,
    refuse_dtd,
)

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["event_from_xml", "parse_event_xml", "parse_evtx"]

EVTX_MAGIC = b"ElfFile\x00"
SCHANNEL_IDS = range(36867, 36890)
CAPI2_PROVIDER = "Microsoft-Windows-CAPI2"
CAPI2_CHANNEL = "Microsoft-Windows-CAPI2/Operational"
CAPI2_IDS = frozenset({11, 30, 41, 51, 52, 53})
_LEVELS = {"1": "Critical", "2": "Error", "3": "Warning", "4": "Information", "5": "Verbose"}
_HEX = re.compile(r"^(?:0x)?([0-9A-Fa-f]{8})$")


def _looks_like_event_xml(head: bytes) -> bool:
    return b"<Event xmlns" in head or b"<Events>" in head or b"<Event>" in head


@log_format("windows-events-xml", detect=_looks_like_event_xml, priority=15)
def parse_event_xml(stream: BinaryIO, ctx: FileContext) -> Iterator[LogEvent]:
    """Windows events as XML (``wevtutil qe /f:xml``, Event Viewer "Save as XML").

    Root-less ``<Event>`` sequences or an ``<Events>`` document, UTF-8 or UTF-16. Schannel
    events 36867-36889 (TLS alert codes from ``AlertDesc``) and failed CAPI2 operational chain
    events 11/30 (Result HRESULT, CERT_TRUST error bits, certificate subject). CAPI2 events in
    the Application log (Automatic Root Update reuses the same ids) are ignored.
    """
    refuse_dtd(ctx.head, ctx.path)
    for offset, record in matching_records(
        stream, b"<Event", b"</Event>", ctx, progress=ctx.progress
    ):
        try:
            root = parse_record(record)
        except RecordError as exc:
            ctx.skip(f"byte {offset}", str(exc))
            continue
        event = event_from_xml(root, ctx.path, "windows-events-xml", offset=offset, ctx=ctx)
        if event is not None:
            yield event


@log_format("evtx", detect=lambda head: head.startswith(EVTX_MAGIC), priority=5)
def parse_evtx(stream: BinaryIO, ctx: FileContext) -> Iterator[LogEvent]:
    """Windows event log files (.evtx), read with the ``evtx`` library (pyevtx-rs).

    The same Schannel and CAPI2 events as the XML export; located by event record id
    (``file@record N``). A damaged record is reported and skipped.
    """
    import evtx  # only for .evtx input: other scans do not load it

    with _evtx_source(stream, ctx) as source:
        try:
            records = evtx.PyEvtxParser(source, number_of_threads=1).records()
        except (RuntimeError, OSError) as exc:
            raise InputError(ctx.path, f"not a readable EVTX file: {exc}") from None
        yield from _evtx_events(records, ctx)


_MAX_ERRORS_IN_A_ROW = 1000


def _evtx_events(records: Iterator[Any], ctx: FileContext) -> Iterator[LogEvent]:
    number = errors = 0
    while errors < _MAX_ERRORS_IN_A_ROW:
        number += 1
        try:
            record = next(records)
        except StopIteration:
            return
        except RuntimeError as exc:
            errors += 1
            ctx.skip(f"record {number}", f"damaged EVTX record: {exc}")
            continue
        errors = 0
        try:
            root = parse_record(str(record["data"]).encode("utf-8"))
        except RecordError as exc:
            ctx.skip(f"record {record.get('event_record_id', number)}", str(exc))
            continue
        event = event_from_xml(
            root, ctx.path, "evtx", record_id=record.get("event_record_id"), ctx=ctx
        )
        if event is not None:
            yield event
    ctx.skip(f"record {number}", "too many damaged records in a row: the rest is not read")


@contextmanager
def _evtx_source(stream: BinaryIO, ctx: FileContext) -> Iterator[str]:
    """A path evtx can open: the file itself, or a temporary copy of decompressed input."""
    if ctx.disk_path is not None:
        yield str(ctx.disk_path)
        return
    import shutil
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".evtx") as copy:
        shutil.copyfileobj(stream, copy)
        copy.flush()
        yield copy.name


def event_from_xml(
    root: etree._Element,
    path: str,
    format_id: str,
    *,
    offset: int | None = None,
    record_id: int | None = None,
    ctx: FileContext | None = None,
) -> LogEvent | None:
    """A LogEvent for a Schannel or failed CAPI2 event; None for any other event. Successful
    CAPI2 operations and failed chains of other purposes (code signing, server
    authentication) are counted in ``ctx.other``."""
    system = find(root, "System")
    provider = find(system, "Provider")
    name = provider.get("Name", "") if provider is not None else ""
    event_id = int_text(child_text(system, "EventID"))
    channel = child_text(system, "Channel") or ""
    common: dict[str, Any] = {
        "source": path,
        "format": format_id,
        "record": record_id,
        "time": parse_time(attribute(find(system, "TimeCreated"), "SystemTime")),
        "offset": offset,
        "level": _LEVELS.get(child_text(system, "Level") or ""),
        "host": child_text(system, "Computer"),
        "event_id": event_id,
    }
    message = child_text(find(root, "RenderingInfo"), "Message")
    if event_id is None:
        return None
    if name == "Schannel" and event_id in SCHANNEL_IDS:
        return _schannel(root, event_id, message, common)
    if name == CAPI2_PROVIDER and channel == CAPI2_CHANNEL and event_id in CAPI2_IDS:
        return _capi2(root, event_id, message, common, ctx or FileContext(path))
    return None


def _schannel(
    root: etree._Element, event_id: int, message: str | None, common: dict[str, Any]
) -> LogEvent:
    data = _event_data(root)
    alert = int_text(data.get("AlertDesc"))
    hresult = None
    for value in data.values():  # 36876/36877/36879 carry an error code [inferred field names]
        match = _HEX.match(value.strip())
        if match:
            hresult = int(match.group(1), 16)
            break
    details = ", ".join(f"{key}={value}" for key, value in data.items())
    return LogEvent(
        **common,
        tls_alert=alert,
        hresult=hresult,
        message=excerpt(
            message or f"Schannel event {event_id}" + (f": {details}" if details else "")
        ),
        raw=excerpt(message or details or f"Schannel {event_id}"),
        codes=(kb_id("schannel", event_id), *tls_alert_codes(alert), *hresult_codes(hresult)),
    )


def _capi2(
    root: etree._Element,
    event_id: int,
    message: str | None,
    common: dict[str, Any],
    ctx: FileContext,
) -> LogEvent | None:
    """A CAPI2 event is a failure only when its Result is non-zero or its level is Error:
    the chain status bits of a successful build are informational. Only chains built or
    checked for client authentication (or of unknown purpose) are client-certificate events.
    """
    result = find(root, "Result")
    value = _hex(result.get("value")) if result is not None else None
    if not value and common["level"] not in ("Error", "Critical"):
        ctx.count_other(f"successful CAPI2 event {event_id} operations")
        return None
    purpose = _capi2_purpose(root, event_id)
    if purpose not in CLIENT_PURPOSES:
        ctx.count_other(f"failed CAPI2 event {event_id} for {purpose} (not client authentication)")
        return None
    bits: list[str] = []
    revocation: list[int] = []
    for element in root.iter():
        name = local(element)
        if name == "ErrorStatus":
            names, _unknown = decode_trust_bits(_hex(element.get("value")) or 0)
            bits += [bit for bit in names if bit not in bits]
        elif name == "RevocationResult":
            code = _hex(element.get("value"))
            if code and code != value and code not in revocation:
                revocation.append(code)
    if not value and not bits:
        ctx.count_other(f"successful CAPI2 event {event_id} operations")
        return None
    certificate = find(root, "Certificate")
    subject = certificate.get("subjectName") if certificate is not None else None
    file_ref = certificate.get("fileRef", "") if certificate is not None else ""
    # CAPI2 names referenced certificates "<SHA-1 thumbprint>.cer" [inferred from samples].
    thumbprint = (
        file_ref.removesuffix(".cer").upper()
        if re.fullmatch(r"[0-9A-Fa-f]{40}\.cer", file_ref)
        else None
    )
    text = (result.text or "").strip() if result is not None else ""
    notes = () if purpose else ("[inferred] the chain's purpose is not in the event",)
    return LogEvent(
        **common,
        hresult=value,
        subject=subject,
        thumbprint=thumbprint,
        purpose=purpose,
        message=excerpt(message or text or f"CAPI2 event {event_id}"),
        raw=excerpt(text or message or ""),
        codes=(
            kb_id("capi2", event_id),
            *hresult_codes(value),
            *(code for extra in revocation for code in hresult_codes(extra)),
            *(kb_id("cert-trust", bit) for bit in bits),
        ),
        notes=notes,
    )


# Extended key usages (RFC 5280 §4.2.1.12) and chain policies (wincrypt.h
# CERT_CHAIN_POLICY_*), as CAPI2 prints them, to the purpose of the check.
_EKU_PURPOSE = {
    "1.3.6.1.5.5.7.3.2": CLIENT_AUTH,
    "1.3.6.1.5.5.7.3.1": "server-auth",
    "1.3.6.1.5.5.7.3.3": "code-signing",
    "1.3.6.1.5.5.7.3.8": "time-stamping",
    "1.3.6.1.5.5.7.3.4": "email",
}
_POLICY_PURPOSE = {
    "CERT_CHAIN_POLICY_AUTHENTICODE": "code-signing",
    "CERT_CHAIN_POLICY_AUTHENTICODE_TS": "time-stamping",
    "CERT_CHAIN_POLICY_MICROSOFT_ROOT": "code-signing",
}


def _capi2_purpose(root: etree._Element, event_id: int) -> str | None:
    """What the chain was built or checked for: event 11's requested ExtendedKeyUsage, event
    30's Policy (and for SSL, ``SSLAdditionalPolicyInfo authType``: ``client`` means a
    client certificate is being judged). None when the event does not say."""
    body = next((e for e in root.iter() if local(e) in _CAPI2_BODIES), None)
    if body is None:
        return None
    if event_id == 30:
        policy = find(body, "Policy")
        kind = policy.get("type", "") if policy is not None else ""
        if kind == "CERT_CHAIN_POLICY_SSL":
            extra = find(body, "SSLAdditionalPolicyInfo")
            auth = (extra.get("authType", "") if extra is not None else "").lower()
            return {"client": CLIENT_AUTH, "server": "server-auth"}.get(auth)
        return _POLICY_PURPOSE.get(kind)
    usage = find(body, "ExtendedKeyUsage")
    if usage is None:
        return None
    oids = [e.get("oid", "") for e in usage if local(e) == "Usage"]
    found = [_EKU_PURPOSE[oid] for oid in oids if oid in _EKU_PURPOSE]
    if CLIENT_AUTH in found:
        return CLIENT_AUTH
    return found[0] if found else ("other" if oids else None)


_CAPI2_BODIES = frozenset({"CertGetCertificateChain", "CertVerifyCertificateChainPolicy"})


def _event_data(root: etree._Element) -> dict[str, str]:
    data: dict[str, str] = {}
    block = find(root, "EventData")
    if block is None:
        return data
    for index, element in enumerate(e for e in block if local(e) == "Data"):
        data[element.get("Name") or f"param{index + 1}"] = (element.text or "").strip()
    return data


def _hex(text: str | None) -> int | None:
    try:
        return int(text, 16) if text else None
    except ValueError:
        return None
