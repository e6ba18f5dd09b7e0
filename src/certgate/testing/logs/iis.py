"""IIS W3C logs and the HTTP.sys error log (docs/windows-model.md#iis-logs)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from certgate.logs.writers import IIS_DEFAULT_FIELDS, iis_header, w3c_line

__all__ = [
    "IIS_DEFAULT_FIELDS",
    "httperr_log",
    "iis_client_cert_failures",
    "iis_header",
    "iis_line",
    "w3c_line",
]


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
    return w3c_line(fields, defaults)


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
