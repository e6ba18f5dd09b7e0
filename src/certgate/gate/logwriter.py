"""The gate's own logs, in the formats ``certgate logs`` and ``certgate doctor`` read.

- IIS W3C (``u_exYYMMDD.log``, one file per UTC day, ``#Fields`` header on each new file):
  IIS's default fields plus ``x-client-cert-thumbprint``/``-subject``/``-issuer`` custom fields;
  ``cs-username`` is the mapped identity, as IIS logs the mapped user.
- WCF-style svclog records for denials: ``HttpsClientCertificateInvalid`` with the native
  error code (the HRESULT's low word, as self-hosted WCF prints it) or
  ``HttpsClientCertificateNotPresent`` for 403.7.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from certgate.core.codes import hresult_forms
from certgate.core.gate.decision import Decision
from certgate.logs.writers import IIS_DEFAULT_FIELDS, iis_header, svclog_record, w3c_line

__all__ = ["W3C_FIELDS", "GateLogs", "Served"]

W3C_FIELDS = (
    *IIS_DEFAULT_FIELDS,
    "x-client-cert-thumbprint",
    "x-client-cert-subject",
    "x-client-cert-issuer",
)
_FWLINK = "http://go.microsoft.com/fwlink/?LinkId=187517"


@dataclass(frozen=True)
class Served:
    """One finished request, as the log needs it."""

    when: datetime
    method: str
    path: str
    query: str
    server_ip: str
    server_port: int
    client_ip: str
    user_agent: str
    referer: str
    status: int
    time_taken_ms: int
    decision: Decision | None
    host: str = ""


class GateLogs:
    """Appends to the W3C log (and the svclog), buffered: the gate calls ``flush`` from its
    sweep (at least once a second), so a line reaches the file within a second of its request
    and no request pays for a write system call; ``close`` flushes the rest."""

    def __init__(self, w3c_dir: Path | None, svclog: Path | None) -> None:
        self.w3c_dir = w3c_dir
        self.svclog = svclog
        self._day: str | None = None
        self._w3c: TextIO | None = None
        self._svclog: TextIO | None = None
        self._computer = socket.gethostname()
        for folder in (w3c_dir, svclog.parent if svclog else None):
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)

    def write(self, served: Served) -> None:
        if self.w3c_dir is not None:
            self._w3c_file(served.when).write(w3c_line(W3C_FIELDS, _w3c_values(served)))
        decision = served.decision
        if self.svclog is not None and decision is not None and decision.status == 403:
            record = _svclog_record(served, decision, self._computer)
            if self._svclog is None:
                self._svclog = self.svclog.open("a", encoding="utf-8", newline="")
            self._svclog.write(record + "\r\n")

    def close(self) -> None:
        for stream in (self._w3c, self._svclog):
            if stream is not None:
                stream.close()
        self._w3c = self._svclog = None

    def _w3c_file(self, when: datetime) -> TextIO:
        day = when.strftime("%y%m%d")
        if self._w3c is None or day != self._day:
            if self._w3c is not None:
                self._w3c.close()
            assert self.w3c_dir is not None
            path = self.w3c_dir / f"u_ex{day}.log"
            fresh = not path.exists() or path.stat().st_size == 0
            self._w3c = path.open("a", encoding="utf-8", newline="")
            if fresh:
                self._w3c.write(iis_header(W3C_FIELDS, when))
            self._day = day
        return self._w3c

    def flush(self) -> None:
        for stream in (self._w3c, self._svclog):
            if stream is not None:
                stream.flush()


def _w3c_values(served: Served) -> dict[str, object]:
    decision = served.decision
    cert = decision.certificate if decision is not None else None
    return {
        "date": served.when.strftime("%Y-%m-%d"),
        "time": served.when.strftime("%H:%M:%S"),
        "s-ip": served.server_ip,
        "cs-method": served.method,
        "cs-uri-stem": served.path,
        "cs-uri-query": served.query,
        "s-port": served.server_port,
        "cs-username": decision.identity if decision is not None else None,
        "c-ip": served.client_ip,
        "cs(User-Agent)": served.user_agent,
        "cs(Referer)": served.referer,
        "sc-status": served.status,
        "sc-substatus": decision.substatus if decision is not None else 0,
        "sc-win32-status": decision.win32_status if decision is not None else 0,
        "time-taken": served.time_taken_ms,
        "x-client-cert-thumbprint": cert.sha1 if cert is not None else None,
        "x-client-cert-subject": str(cert.subject) if cert is not None else None,
        "x-client-cert-issuer": str(cert.issuer) if cert is not None else None,
    }


def _svclog_record(served: Served, decision: Decision, computer: str) -> str:
    host = served.host or f"{served.server_ip}:{served.server_port}"
    url = f"https://{host}{served.path}"
    if decision.substatus == 7:
        code = "HttpsClientCertificateNotPresent"
        description = "Client certificate is required. No certificate was found in the request."
    else:
        code = "HttpsClientCertificateInvalid"
        native = hresult_forms(decision.hresult).low_word
        description = (
            f"Client certificate is invalid with native error code {native} "
            f"(see {_FWLINK} for details)."
        )
    return svclog_record(
        served.when,
        trace_code=code,
        description=description,
        computer=computer,
        process="certgate",
        url=url,
        host=host,
    )
