"""WCF svclog records (docs/windows-model.md#wcf-svclog) and System.Net text traces
(#system-net-traces)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from certgate.logs.samples._common import (
    E2E_NS,
    FWLINK,
    LEVELS,
    RECORD_NS,
    SYSTEM_NS,
    WCF_CODES,
    dotnet_time,
)


def trace_identifier(
    code: str, namespace: str = "System.ServiceModel.Channels", *, docs: bool = False
) -> str:
    """The old msdn URL form, or the newer docs form (docs/windows-model.md#wcf-svclog)."""
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
    code = event_id if event_id is not None else WCF_CODES.get(trace_code, 131074)
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
        f'<Type>3</Type><SubType Name="{severity}">0</SubType><Level>{LEVELS[severity]}</Level>'
        f'<TimeCreated SystemTime="{dotnet_time(when)}" /><Source Name="System.ServiceModel" />'
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


# --- System.Net text traces (docs/windows-model.md#system-net-traces)
# --------------------------------------------


def sysnet_line(source: str, kind: str, thread: int, message: str, when: datetime | None) -> str:
    line = f"{source} {kind}: 0 : [{thread:04d}] {message}\r\n"
    if when is not None:
        line += f"    DateTime={dotnet_time(when)}\r\n"
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
