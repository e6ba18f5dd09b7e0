"""The log lines certgate writes itself: IIS W3C (``#Fields`` header and lines) and WCF
svclog ``E2ETraceEvent`` records, in exactly the shapes ``certgate logs`` and ``certgate doctor``
read (docs/windows-model.md#iis-logs, #wcf-svclog). The gate's logs (``certgate.gate.logwriter``)
are written with these; the test samples (``certgate.testing.logs``) build on them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from certgate.core.codes import WCF_TRACE_CODES
from certgate.logs.iis import IIS_DEFAULT_FIELDS

__all__ = [
    "IIS_DEFAULT_FIELDS",
    "dotnet_time",
    "iis_header",
    "svclog_record",
    "trace_identifier",
    "w3c_line",
]

E2E_NS = "http://schemas.microsoft.com/2004/06/E2ETraceEvent"
SYSTEM_NS = "http://schemas.microsoft.com/2004/06/windows/eventlog/system"
RECORD_NS = "http://schemas.microsoft.com/2004/10/E2ETraceEvent/TraceRecord"
LEVELS = {"Critical": 1, "Error": 2, "Warning": 4, "Information": 8, "Verbose": 16}

_WHITESPACE = re.compile(r"\s")


def iis_header(fields: Sequence[str] = IIS_DEFAULT_FIELDS, when: datetime | None = None) -> str:
    stamp = (when or datetime(2024, 3, 5, tzinfo=UTC)).strftime("%Y-%m-%d %H:%M:%S")
    return (
        "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n"
        f"#Date: {stamp}\r\n#Fields: {' '.join(fields)}\r\n"
    )


def w3c_line(fields: Sequence[str], values: Mapping[str, object]) -> str:
    """One W3C line in ``fields`` order: spaces become ``+``, missing values ``-`` (as IIS)."""
    cells = []
    for field in fields:
        value = values.get(field)
        text = "" if value is None else str(value)
        cells.append("-" if text == "" else _WHITESPACE.sub("+", text))
    return " ".join(cells) + "\r\n"


def dotnet_time(when: datetime) -> str:
    """.NET DateTime 'o' format in UTC: 7 fractional digits and Z."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}0Z"


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
    code = event_id if event_id is not None else WCF_TRACE_CODES.get(trace_code, 131074)
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
