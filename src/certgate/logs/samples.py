"""Realistic log samples, generated: WCF svclog, System.Net traces, IIS W3C and HTTPERR,
Windows events as XML and as ``.evtx`` (``evtx_file``), nginx and Apache error logs.

Structures and strings follow windows-facts §3, §5 and §6 (the svclog skeleton and trace codes
from the .NET reference source, the W3C default field order, the Schannel event data). Values are
synthetic. Tests, the benchmark and the doctor demo build their inputs here, so a format change
is made once. Every function is deterministic for the same arguments.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from certgate.logs._evtx_writer import evtx_file

__all__ = [
    "CAPI2_CHANNEL",
    "IIS_DEFAULT_FIELDS",
    "SCHANNEL_GUID",
    "apache_error_line",
    "capi2_chain_event",
    "evtx_file",
    "httperr_log",
    "iis_client_cert_failures",
    "iis_header",
    "iis_line",
    "nginx_error_line",
    "schannel_event",
    "svclog_bench_records",
    "svclog_cert_invalid",
    "svclog_cert_not_present",
    "svclog_client_cert_failures",
    "svclog_record",
    "svclog_routine",
    "svclog_security_fault",
    "sysnet_client_certificate",
    "sysnet_line",
    "windows_event",
    "write_seed_case",
]

E2E_NS = "http://schemas.microsoft.com/2004/06/E2ETraceEvent"
SYSTEM_NS = "http://schemas.microsoft.com/2004/06/windows/eventlog/system"
RECORD_NS = "http://schemas.microsoft.com/2004/10/E2ETraceEvent/TraceRecord"
EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
SCHANNEL_GUID = "{1f678132-5938-4686-9fdc-c8ff68f15c85}"
CAPI2_GUID = "{5bbca4a8-b209-48dc-a8c7-b23d3e5216fb}"
CAPI2_CHANNEL = "Microsoft-Windows-CAPI2/Operational"
FWLINK = "http://go.microsoft.com/fwlink/?LinkId=187517"

_LEVELS = {"Critical": 1, "Error": 2, "Warning": 4, "Information": 8, "Verbose": 16}
_WCF_CODES = {
    "HttpsClientCertificateInvalid": 262159,
    "HttpsClientCertificateNotPresent": 262160,
}


def _o(when: datetime) -> str:
    """.NET DateTime 'o' format in UTC: 7 fractional digits and Z."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}0Z"


def trace_identifier(
    code: str, namespace: str = "System.ServiceModel.Channels", *, docs: bool = False
) -> str:
    """The old msdn URL form, or the newer docs form (windows-facts §5.1)."""
    if docs:
        dashed = f"{namespace}.{code}".replace(".", "-")
        return f"https://docs.microsoft.com/dotnet/framework/wcf/diagnostics/tracing/{dashed}"
    return f"http://msdn.microsoft.com/en-US/library/{namespace}.{code}.aspx"


def svclog_record(
    when: datetime,
    *,
    trace_code: str,
    description: str,
    severity: str = "Warning",
    event_id: int | None = None,
    namespace: str = "System.ServiceModel.Channels",
    docs_url: bool = False,
    computer: str = "APPSRV01",
    process: str = "MyService.Host",
    url: str | None = None,
    host: str | None = None,
    exception: tuple[str, str] | None = None,
    extra: str = "",
) -> str:
    """One XmlWriterTraceListener ``E2ETraceEvent`` on a single line, element order exact."""
    code = event_id if event_id is not None else _WCF_CODES.get(trace_code, 131074)
    identifier = trace_identifier(trace_code, namespace, docs=docs_url)
    extended = ""
    if url is not None:
        headers = (
            "<Headers><Connection>Keep-Alive</Connection>"
            f"<Host>{escape(host or '')}</Host></Headers>"
        )
        extended = (
            '<ExtendedData xmlns="http://schemas.microsoft.com/2006/08/ServiceModel/'
            f'HttpRequestTraceRecord">{headers}<Url>{escape(url)}</Url></ExtendedData>'
        )
    fault = ""
    if exception is not None:
        kind, text = exception
        fault = (
            f"<Exception><ExceptionType>{escape(kind)}, System.ServiceModel, Version=4.0.0.0"
            f"</ExceptionType><Message>{escape(text)}</Message><StackTrace>   at "
            "System.ServiceModel.Channels.ServiceChannel.ThrowIfFaultUnderstood()</StackTrace>"
            "</Exception>"
        )
    return (
        f'<E2ETraceEvent xmlns="{E2E_NS}"><System xmlns="{SYSTEM_NS}"><EventID>{code}</EventID>'
        f'<Type>3</Type><SubType Name="{severity}">0</SubType><Level>{_LEVELS[severity]}</Level>'
        f'<TimeCreated SystemTime="{_o(when)}" /><Source Name="System.ServiceModel" />'
        '<Correlation ActivityID="{00000000-0000-0000-0000-000000000000}" />'
        f'<Execution ProcessName="{process}" ProcessID="4120" ThreadID="9" /><Channel />'
        f"<Computer>{computer}</Computer></System><ApplicationData><TraceData><DataItem>"
        f'<TraceRecord xmlns="{RECORD_NS}" Severity="{severity}">'
        f"<TraceIdentifier>{identifier}</TraceIdentifier>"
        f"<Description>{escape(description)}</Description><AppDomain>{process}.exe</AppDomain>"
        "<Source>System.ServiceModel.Channels.HttpsChannelListener`1[System.ServiceModel."
        f"Channels.IReplyChannel]/11268815</Source>{extended}{fault}{extra}</TraceRecord>"
        "</DataItem></TraceData></ApplicationData></E2ETraceEvent>"
    )


def svclog_cert_invalid(
    when: datetime,
    native: str | None = "0x109",
    *,
    docs_url: bool = False,
    url: str = "https://appsrv01:8443/Service/",
    host: str = "appsrv01:8443",
) -> str:
    """HttpsClientCertificateInvalid: self-hosted (``native``) or IIS-hosted (None) wording."""
    description = (
        f"Client certificate is invalid with native error code {native} (see {FWLINK} for details)."
        if native
        else "Client certificate is invalid."
    )
    return svclog_record(
        when,
        trace_code="HttpsClientCertificateInvalid",
        description=description,
        severity="Warning" if native else "Error",
        docs_url=docs_url,
        url=url,
        host=host,
    )


def svclog_cert_not_present(when: datetime, *, docs_url: bool = False) -> str:
    return svclog_record(
        when,
        trace_code="HttpsClientCertificateNotPresent",
        description="Client certificate is required. No certificate was found in the request.",
        docs_url=docs_url,
        url="https://appsrv01:8443/Service/",
        host="appsrv01:8443",
    )


def svclog_security_fault(when: datetime) -> str:
    """A message-security fault: ThrowingException carrying a MessageSecurityException."""
    return svclog_record(
        when,
        trace_code="ThrowingException",
        namespace="System.ServiceModel.Diagnostics",
        event_id=131075,
        severity="Error",
        description="Throwing an exception.",
        exception=(
            "System.ServiceModel.Security.MessageSecurityException",
            "The HTTP request was forbidden with client authentication scheme 'Anonymous'.",
        ),
    )


_ROUTINE = (
    ("ActivityBoundary", "System.ServiceModel.Diagnostics", "Activity boundary."),
    ("MessageReceived", "System.ServiceModel.Channels", "Received a message over a channel."),
    ("MessageSent", "System.ServiceModel.Channels", "Sent a message over a channel."),
    ("ServiceOperationCompleted", "System.ServiceModel", "Operation completed successfully."),
)


def svclog_routine(when: datetime, index: int, *, stack: bool = False) -> str:
    code, namespace, description = _ROUTINE[index % len(_ROUTINE)]
    extra = ""
    if stack:
        frames = "".join(f"   at MyService.Orders.Step{n}(Int32 id)&#xD;&#xA;" for n in range(12))
        extra = f"<StackTrace>{frames}</StackTrace>"
    return svclog_record(
        when,
        trace_code=code,
        namespace=namespace,
        event_id=131074 + index % 7,
        severity="Information",
        description=f"{description} Id={index}",
        extra=extra,
    )


def svclog_client_cert_failures(
    start: datetime, count: int, interval: timedelta = timedelta(seconds=5), native: str = "0x109"
) -> list[str]:
    """``count`` HttpsClientCertificateInvalid records (0x109 by default), one per ``interval``."""
    return [svclog_cert_invalid(start + i * interval, native) for i in range(count)]


def svclog_bench_records(
    count: int, failure_every: int, start: datetime, seed: int = 7
) -> Iterator[str]:
    """Mostly routine records (15 % with stack traces); every ``failure_every``-th is a 0x109."""
    rng = random.Random(seed)
    for i in range(count):
        when = start + timedelta(milliseconds=40 * i)
        if i % failure_every == failure_every - 1:
            yield svclog_cert_invalid(when)
        else:
            yield svclog_routine(when, i, stack=rng.random() < 0.15)


# --- IIS W3C and HTTP.sys error logs (windows-facts §3.2) ---------------------------------

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


def iis_header(fields: Sequence[str] = IIS_DEFAULT_FIELDS, when: datetime | None = None) -> str:
    stamp = (when or datetime(2024, 3, 5, tzinfo=UTC)).strftime("%Y-%m-%d %H:%M:%S")
    return (
        "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n"
        f"#Date: {stamp}\r\n#Fields: {' '.join(fields)}\r\n"
    )


def iis_line(fields: Sequence[str] = IIS_DEFAULT_FIELDS, **values: object) -> str:
    """One W3C line: ``when`` fills date and time; field ids use ``_`` for ``-`` and drop
    parentheses (``cs_User_Agent``); spaces become ``+``, missing values ``-``."""
    when = values.pop("when", datetime(2024, 3, 5, 10, 12, 44, tzinfo=UTC))
    assert isinstance(when, datetime)
    defaults: dict[str, object] = {
        "date": when.strftime("%Y-%m-%d"),
        "time": when.strftime("%H:%M:%S"),
        "s-ip": "10.0.0.5",
        "cs-method": "POST",
        "cs-uri-stem": "/Svc/Service.svc",
        "s-port": 443,
        "c-ip": "10.0.0.9",
        "cs(User-Agent)": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        "sc-status": 200,
        "sc-substatus": 0,
        "sc-win32-status": 0,
        "time-taken": 15,
    }
    for key, value in values.items():
        field = key.replace("_", "-")
        field = {"cs-User-Agent": "cs(User-Agent)", "cs-Referer": "cs(Referer)"}.get(field, field)
        defaults[field] = value
    cells = []
    for field in fields:
        value = defaults.get(field)
        cells.append("-" if value is None or value == "" else str(value).replace(" ", "+"))
    return " ".join(cells) + "\r\n"


def iis_client_cert_failures(
    start: datetime,
    count: int,
    interval: timedelta = timedelta(seconds=5),
    *,
    client_ips: Sequence[str] = ("10.0.0.9", "10.0.0.17"),
    ok_between: int = 3,
) -> str:
    """A whole W3C log: ``count`` ``403 16 2148204809`` lines among successful requests."""
    lines = [iis_header(when=start)]
    for i in range(count):
        when = start + i * interval
        for j in range(ok_between):
            lines.append(iis_line(when=when - timedelta(seconds=j + 1), cs_method="GET"))
        lines.append(
            iis_line(
                when=when,
                c_ip=client_ips[i % len(client_ips)],
                sc_status=403,
                sc_substatus=16,
                sc_win32_status=2148204809,
            )
        )
    return "".join(lines)


def httperr_log(entries: Iterable[tuple[datetime, str, int, str]]) -> str:
    """HTTPERR: (time, client ip, status, reason) entries under the HTTP API header."""
    lines = [
        "#Software: Microsoft HTTP API 2.0\r\n#Version: 1.0\r\n#Date: 2024-03-05 10:00:00\r\n"
        "#Fields: date time c-ip c-port s-ip s-port cs-version cs-method cs-uri streamid "
        "sc-status s-siteid s-reason s-queuename\r\n"
    ]
    for when, ip, status, reason in entries:
        status_text = "-" if status == 0 else str(status)
        lines.append(
            f"{when:%Y-%m-%d %H:%M:%S} {ip} 51234 10.0.0.5 443 HTTP/1.1 GET /Svc/Service.svc "
            f"- {status_text} 2 {reason} -\r\n"
        )
    return "".join(lines)


# --- System.Net text traces (windows-facts §5.2) --------------------------------------------


def sysnet_line(source: str, kind: str, thread: int, message: str, when: datetime | None) -> str:
    line = f"{source} {kind}: 0 : [{thread:04d}] {message}\r\n"
    if when is not None:
        line += f"    DateTime={_o(when)}\r\n"
    return line


def sysnet_client_certificate(
    when: datetime,
    subject: str | None,
    issuer: str = "CN=Issuing CA",
    thumbprint: str = "A909502DD82AE41433E6F83886B00D4277A32A7B",
) -> str:
    """HttpListener's GetClientCertificate enter/exit with the multi-line X509Certificate2 dump,
    or ``(null)`` when the client sent no certificate."""
    enter = sysnet_line(
        "System.Net.HttpListener",
        "Verbose",
        5584,
        "Entering HttpListenerRequest#29080059::GetClientCertificate()",
        when,
    )
    if subject is None:
        dump = "(null)"
    else:
        dump = (
            f"[Subject]\r\n  {subject}\r\n\r\n[Issuer]\r\n  {issuer}\r\n\r\n[Serial Number]\r\n"
            "  1A2B3C4D5E6F\r\n\r\n[Not Before]\r\n  3/1/2024 9:00:00 AM\r\n\r\n[Not After]\r\n"
            f"  3/1/2026 9:00:00 AM\r\n\r\n[Thumbprint]\r\n  {thumbprint}\r\n"
        )
    exit_ = sysnet_line(
        "System.Net.HttpListener",
        "Verbose",
        5584,
        f"Exiting HttpListenerRequest#29080059::GetClientCertificate() \t-> {dump}",
        when,
    )
    return enter + exit_


# --- Windows events as XML (wevtutil qe /f:xml, Event Viewer) (windows-facts §5.3, §6) ----------


def windows_event(
    when: datetime,
    *,
    provider: str,
    event_id: int,
    channel: str,
    level: int = 2,
    guid: str | None = None,
    data: Sequence[tuple[str, str]] = (),
    user_data: str = "",
    computer: str = "web01.contoso.test",
    record_id: int = 1,
    message: str | None = None,
) -> str:
    """One ``<Event>`` as ``wevtutil qe /f:xml`` prints it (single-quoted attributes)."""
    guid_attr = f" Guid='{guid}'" if guid else ""
    body = (
        "<EventData>"
        + "".join(f"<Data Name='{name}'>{escape(value)}</Data>" for name, value in data)
        + "</EventData>"
        if data
        else user_data
    )
    rendering = (
        f"<RenderingInfo Culture='en-US'><Message>{escape(message)}</Message></RenderingInfo>"
        if message
        else ""
    )
    return (
        f"<Event xmlns='{EVENT_NS}'><System><Provider Name='{provider}'{guid_attr}/>"
        f"<EventID>{event_id}</EventID><Version>0</Version><Level>{level}</Level><Task>0</Task>"
        "<Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords>"
        f"<TimeCreated SystemTime='{_o(when)}'/><EventRecordID>{record_id}</EventRecordID>"
        "<Correlation/><Execution ProcessID='704' ThreadID='1220'/>"
        f"<Channel>{channel}</Channel><Computer>{computer}</Computer>"
        f"<Security UserID='S-1-5-18'/></System>{body}{rendering}</Event>"
    )


def schannel_event(
    when: datetime,
    event_id: int,
    *,
    alert: int | None = None,
    state: int | None = None,
    record_id: int = 1,
) -> str:
    """Schannel System-log event; 36887/36888 carry ``AlertDesc`` (and ``ErrorState``)."""
    data: list[tuple[str, str]] = []
    if alert is not None:
        data.append(("AlertDesc", str(alert)))
    if state is not None:
        data.append(("ErrorState", str(state)))
    return windows_event(
        when,
        provider="Schannel",
        guid=SCHANNEL_GUID,
        event_id=event_id,
        channel="System",
        data=data,
        record_id=record_id,
    )


def capi2_chain_event(
    when: datetime,
    *,
    subject: str = "client01",
    thumbprint: str = "A909502DD82AE41433E6F83886B00D4277A32A7B",
    result: int = 0x800B0109,
    error_status: int = 0x20,
    record_id: int = 1,
    channel: str = CAPI2_CHANNEL,
) -> str:
    """CAPI2 event 11 (Build Chain) with one element's TrustStatus and the Result."""
    bits = " CERT_TRUST_IS_UNTRUSTED_ROOT='true'" if error_status & 0x20 else ""
    text = (
        "A certificate chain processed, but terminated in a root certificate which is not "
        "trusted by the trust provider."
    )
    user_data = (
        "<UserData><CertGetCertificateChain xmlns='http://schemas.microsoft.com/win/2004/08/"
        f"events'><Certificate fileRef='{thumbprint}.cer' subjectName={quoteattr(subject)}/>"
        "<CertificateChain chainRef='{7A2E3F00-1111-2222-3333-444455556666}'><ChainElement>"
        f"<Certificate fileRef='{thumbprint}.cer' subjectName={quoteattr(subject)}/><TrustStatus>"
        f"<ErrorStatus value='{error_status:X}'{bits}/><InfoStatus value='0'/></TrustStatus>"
        "</ChainElement></CertificateChain><EventAuxInfo ProcessName='lsass.exe'/>"
        f"<Result value='{result:X}'>{escape(text)}</Result></CertGetCertificateChain></UserData>"
    )
    return windows_event(
        when,
        provider="Microsoft-Windows-CAPI2",
        guid=CAPI2_GUID,
        event_id=11,
        channel=channel,
        level=2,
        user_data=user_data,
        record_id=record_id,
    )


# --- nginx and Apache mod_ssl error logs -----------------------------------------------------


def nginx_error_line(
    when: datetime,
    message: str,
    *,
    level: str = "info",
    client: str = "10.0.0.9",
    host: str = "api.contoso.test",
    request: str = "GET /orders HTTP/1.1",
) -> str:
    """``message`` is e.g. ``client SSL certificate verify error: (20:unable to get local issuer
    certificate)`` or ``client sent no required SSL certificate``."""
    return (
        f"{when:%Y/%m/%d %H:%M:%S} [{level}] 2411#2411: *17 {message} while reading client "
        f'request headers, client: {client}, server: {host}, request: "{request}", '
        f'host: "{host}"\n'
    )


def apache_error_line(
    when: datetime, message: str, *, level: str = "error", client: str = "10.0.0.9:51234"
) -> str:
    """``message`` is e.g. ``AH02039: Certificate Verification: Error (20): unable to get local
    issuer certificate``."""
    stamp = when.strftime("%a %b %d %H:%M:%S.") + f"{when.microsecond:06d} {when:%Y}"
    return f"[{stamp}] [ssl:{level}] [pid 3120:tid 140234] [client {client}] {message}\n"


def write_seed_case(
    folder: str | Path, start: datetime, count: int = 12, interval: timedelta = timedelta(minutes=8)
) -> list[Path]:
    """The seed case's evidence in ``folder``: ``service.svclog`` with ``count``
    HttpsClientCertificateInvalid 0x109 records (self-hosted WCF) and ``u_ex<date>.log`` with
    ``count`` IIS ``403 16 2148204809`` lines among successful requests. Returns both paths."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    svclog = target / "service.svclog"
    records = svclog_client_cert_failures(start, count, interval)
    svclog.write_text("\r\n".join(records) + "\r\n", encoding="utf-8", newline="")
    iis = target / f"u_ex{start:%y%m%d}.log"
    shifted = start + timedelta(seconds=20)
    iis.write_text(iis_client_cert_failures(shifted, count, interval), encoding="utf-8", newline="")
    return [svclog, iis]
