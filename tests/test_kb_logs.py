"""Every code the log readers attach to an event has a knowledge-base entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from certgate.core.kb import knowledge_base
from certgate.logs import LogScan
from certgate.testing.logs import iis, wcf, web, windows

T0 = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)


def write_samples(folder: Path) -> None:
    (folder / "service.svclog").write_text(
        wcf.svclog_cert_invalid(T0, "0x109")
        + wcf.svclog_cert_invalid(T0, "0x10C")
        + wcf.svclog_cert_not_present(T0)
        + wcf.svclog_security_fault(T0)
    )
    lines = [iis.iis_header(when=T0)]
    for status, sub, win32 in [
        (403, 16, 2148204809),
        (403, 7, 5),
        (403, 13, 2148081680),
        (403, 17, 2148204801),
        (500, 0, 50),
        (401, 2, 0),
    ]:
        lines.append(
            iis.iis_line(when=T0, sc_status=status, sc_substatus=sub, sc_win32_status=win32)
        )
    (folder / "u_ex260305.log").write_text("".join(lines))
    reasons = ["BadRequest", "QueueFull", "Connection_Dropped", "Client_Reset"]
    (folder / "httperr1.log").write_text(
        iis.httperr_log(
            (T0 + timedelta(seconds=i), "10.0.0.9", 400, r) for i, r in enumerate(reasons)
        )
    )
    (folder / "error.log").write_text(
        web.nginx_error_line(
            T0, "client SSL certificate verify error: (20:unable to get local issuer certificate)"
        )
        + web.nginx_error_line(T0, "client sent no required SSL certificate")
    )
    (folder / "ssl_error.log").write_text(
        web.apache_error_line(
            T0,
            "AH02039: Certificate Verification: Error (20): unable to get local issuer certificate",
        )
    )
    (folder / "events.xml").write_text(
        "<Events>"
        + windows.schannel_event(T0, 36887, alert=48)
        + windows.schannel_event(T0, 36885)
        + windows.capi2_chain_event(T0)
        + "</Events>"
    )


def test_every_log_code_is_explained(tmp_path: Path) -> None:
    write_samples(tmp_path)
    kb = knowledge_base()
    codes = {code for event in LogScan([tmp_path]) for code in event.codes}
    assert {
        "iis:403.16",
        "hresult:CERT_E_UNTRUSTEDROOT",
        "tls-alert:48",
        "apache:AH02039",
        "openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    } <= codes
    assert sorted(code for code in codes if code not in kb) == []
