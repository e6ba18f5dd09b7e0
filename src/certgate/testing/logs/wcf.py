"""WCF svclog records (docs/windows-model.md#wcf-svclog) and System.Net text traces
(#system-net-traces)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from certgate.logs.writers import svclog_record, trace_identifier
from certgate.testing.logs._common import FWLINK, dotnet_time

__all__ = [
    "svclog_bench_records",
    "svclog_cert_invalid",
    "svclog_cert_not_present",
    "svclog_client_cert_failures",
    "svclog_record",
    "svclog_routine",
    "svclog_security_fault",
    "sysnet_client_certificate",
    "sysnet_line",
    "trace_identifier",
]


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
