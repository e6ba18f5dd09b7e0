"""Realistic log samples, generated: WCF svclog, System.Net traces, IIS W3C and HTTPERR,
Windows events as XML and as ``.evtx`` (``evtx_file``), nginx and Apache error logs.

Structures and strings follow docs/windows-model.md#iis-logs, #wcf-svclog, #system-net-traces,
#capi2 and #schannel-events (the svclog skeleton and trace codes
from the .NET reference source, the W3C default field order, the Schannel event data). Values are
synthetic. Tests, the benchmark and the doctor demo build their inputs here, so a format change
is made once. Every function is deterministic for the same arguments.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from certgate.logs.writers import (
    IIS_DEFAULT_FIELDS,
    iis_header,
    svclog_record,
    trace_identifier,
    w3c_line,
)
from certgate.testing.logs._common import CAPI2_CHANNEL, SCHANNEL_GUID
from certgate.testing.logs._evtx_writer import evtx_file
from certgate.testing.logs.freb import freb_file
from certgate.testing.logs.iis import httperr_log, iis_client_cert_failures, iis_line
from certgate.testing.logs.wcf import (
    svclog_bench_records,
    svclog_cert_invalid,
    svclog_cert_not_present,
    svclog_client_cert_failures,
    svclog_routine,
    svclog_security_fault,
    sysnet_client_certificate,
    sysnet_line,
)
from certgate.testing.logs.web import apache_error_line, nginx_error_line
from certgate.testing.logs.windows import (
    capi2_chain_event,
    capi2_policy_event,
    schannel_event,
    windows_event,
)

__all__ = [
    "CAPI2_CHANNEL",
    "IIS_DEFAULT_FIELDS",
    "SCHANNEL_GUID",
    "apache_error_line",
    "capi2_chain_event",
    "capi2_policy_event",
    "evtx_file",
    "freb_file",
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
    "trace_identifier",
    "w3c_line",
    "windows_event",
    "write_seed_case",
]


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
