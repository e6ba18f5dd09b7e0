"""Each log format on realistic generated samples, with malformed variants and negative controls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from certgate.core.events import LogEvent
from certgate.logs import FileResult, read_events
from certgate.testing import PKI
from certgate.testing import logs as samples

T0 = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)


def read(tmp_path: Path, name: str, content: str | bytes) -> tuple[list[LogEvent], FileResult]:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    events, files = read_events([path])
    assert len(files) == 1
    return events, files[0]


# --- WCF svclog ------------------------------------------------------------------------------


def test_svclog_finds_0x109_among_routine_records(tmp_path: Path) -> None:
    records = list(samples.svclog_bench_records(500, 50, T0))
    events, result = read(tmp_path, "a.svclog", "\r\n".join(records) + "\r\n")
    assert (result.format, result.events, result.skipped) == ("svclog", 10, 0)
    first = events[0]
    assert first.codes == ("wcf:HttpsClientCertificateInvalid", "hresult:CERT_E_UNTRUSTEDROOT")
    assert (first.trace_code, first.native_error, first.hresult) == (
        "HttpsClientCertificateInvalid",
        "0x109",
        0x800B0109,
    )
    assert first.event_id == 262159 and first.level == "Warning"
    assert first.url == "https://appsrv01:8443/Service/" and first.host == "appsrv01:8443"
    assert first.time == T0 + timedelta(milliseconds=40 * 49)
    assert first.notes[0].startswith("[inferred] native error code 0x109")
    assert records[49].encode() in (tmp_path / "a.svclog").read_bytes()[first.offset or 0 :]


def test_svclog_without_separators_and_with_docs_urls(tmp_path: Path) -> None:
    records = [
        samples.svclog_routine(T0, 1),
        samples.svclog_cert_invalid(T0, docs_url=True),
        samples.svclog_cert_not_present(T0, docs_url=True),
        samples.svclog_cert_invalid(T0, native=None),
        samples.svclog_security_fault(T0),
    ]
    events, _ = read(tmp_path, "b.svclog", "".join(records))
    assert [e.codes for e in events] == [
        ("wcf:HttpsClientCertificateInvalid", "hresult:CERT_E_UNTRUSTEDROOT"),
        ("wcf:HttpsClientCertificateNotPresent",),
        ("wcf:HttpsClientCertificateInvalid",),
        ("wcf:MessageSecurityException",),
    ]
    assert events[2].native_error is None and events[2].level == "Error"


def test_svclog_routine_only_has_no_events(tmp_path: Path) -> None:
    records = [samples.svclog_routine(T0, i, stack=True) for i in range(50)]
    events, result = read(tmp_path, "c.svclog", "\r\n".join(records))
    assert events == [] and result.format == "svclog" and result.skipped == 0


def test_svclog_truncated_last_record_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    last = samples.svclog_cert_invalid(T0 + timedelta(seconds=9))
    content = samples.svclog_cert_invalid(T0) + "\r\n" + last[: len(last) // 2]
    events, result = read(tmp_path, "d.svclog", content)
    assert len(events) == 1 and result.skipped == 1
    assert "truncated record" in result.problems[0].message


def test_svclog_damaged_record_and_binary_junk_are_skipped(tmp_path: Path) -> None:
    good = samples.svclog_cert_invalid(T0)
    broken = good.replace("</Description>", "</Descr>")
    junk = b"\x00\xff\xfe garbage \x00" * 20
    content = good.encode() + b"\r\n" + broken.encode() + b"\r\n" + junk + good.encode()
    events, result = read(tmp_path, "e.svclog", content)
    assert len(events) == 2
    assert result.skipped == 1 and "not well-formed" in result.problems[0].message


def test_svclog_wrong_encoding_record_is_skipped(tmp_path: Path) -> None:
    good = samples.svclog_cert_invalid(T0).encode()
    latin1 = samples.svclog_cert_invalid(T0).replace("appsrv01", "äppsrv01").encode("latin-1")
    events, result = read(tmp_path, "f.svclog", good + b"\r\n" + latin1)
    assert len(events) == 1 and result.skipped == 1


def test_svclog_billion_laughs_is_refused_not_expanded(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    )
    record = samples.svclog_cert_invalid(T0).replace("appsrv01:8443</Host>", "&lol3;</Host>")
    events, result = read(tmp_path, "bomb.svclog", bomb + record)
    assert events == []
    assert result.error is not None and "DOCTYPE or entity declarations is refused" in result.error


def test_entity_reference_inside_a_record_is_refused(tmp_path: Path) -> None:
    record = samples.svclog_cert_invalid(T0).replace("appsrv01:8443</Host>", "&xxe;</Host>")
    events, result = read(tmp_path, "xxe.svclog", samples.svclog_routine(T0, 1) + record)
    assert events == [] and result.skipped == 1


# --- IIS W3C and HTTPERR -------------------------------------------------------------------


def test_w3c_403_16_lines_with_default_fields(tmp_path: Path) -> None:
    events, result = read(tmp_path, "u_ex240305.log", samples.iis_client_cert_failures(T0, 4))
    assert (result.format, result.events, result.skipped) == ("iis-w3c", 4, 0)
    first = events[0]
    assert first.codes == ("iis:403.16", "hresult:CERT_E_UNTRUSTEDROOT")
    assert (first.status, first.substatus, first.win32_status) == (403, 16, 2148204809)
    assert first.line == 8 and first.time == T0 and first.client_ip == "10.0.0.9"
    assert first.url == "/Svc/Service.svc"
    assert [e.client_ip for e in events] == ["10.0.0.9", "10.0.0.17"] * 2


def test_w3c_fields_in_any_order_several_headers_and_plus_for_spaces(
    tmp_path: Path, pki: PKI
) -> None:
    client = pki.root("Contoso Root").client("alice")
    fields = ["c-ip", "sc-win32-status", "sc-substatus", "sc-status", "date", "time",
              "cs-uri-stem", "cs-uri-query", "cs-host", "X-Client-Cert-Thumbprint",
              "X-Client-Cert-Subject"]  # fmt: skip
    second = ["date", "time", "sc-status", "sc-substatus", "sc-win32-status", "c-ip"]
    content = (
        samples.iis_header()
        + samples.iis_line(sc_status=403, sc_substatus=7)
        + samples.iis_line(sc_status=404, sc_substatus=0)
        + samples.iis_header(fields)
        + samples.iis_line(
            fields,
            sc_status=403,
            sc_substatus=13,
            sc_win32_status=2148081680,
            cs_uri_query="id=1",
            cs_host="api.contoso.test",
            X_Client_Cert_Thumbprint=client.sha1,
            X_Client_Cert_Subject="CN=alice, O=Contoso",
        )
        + samples.iis_header(second)
        + samples.iis_line(second, sc_status=403, sc_substatus=17, sc_win32_status=2148204801)
        + samples.iis_line(second, sc_status=200)
    )
    events, result = read(tmp_path, "mixed.log", content)
    assert [e.codes for e in events] == [
        ("iis:403.7",),
        ("iis:403.13", "hresult:CRYPT_E_REVOKED"),
        ("iis:403.17", "hresult:CERT_E_EXPIRED"),
    ]
    revoked = events[1]
    assert revoked.thumbprint == client.sha1 and revoked.subject == "CN=alice, O=Contoso"
    assert revoked.url == "/Svc/Service.svc?id=1" and revoked.host == "api.contoso.test"
    assert result.skipped == 0


def test_w3c_500_renegotiation_and_unrelated_403(tmp_path: Path) -> None:
    """IIS logs FACILITY_WIN32 HRESULTs as the Win32 code: 0x80070032 is ``500 0 50``
    (docs/windows-model.md#sc-win32-status); the full form 2147942450 is read too."""
    content = (
        samples.iis_header()
        + samples.iis_line(sc_status=500, sc_substatus=0, sc_win32_status=50)
        + samples.iis_line(sc_status=500, sc_substatus=0, sc_win32_status=2147942450)
        + samples.iis_line(sc_status=500, sc_substatus=0, sc_win32_status=0)
        + samples.iis_line(sc_status=403, sc_substatus=14)
    )
    events, _ = read(tmp_path, "reneg.log", content)
    assert [e.codes for e in events] == [("iis:500.0", "hresult:ERROR_NOT_SUPPORTED")] * 2
    assert [e.hresult for e in events] == [0x80070032] * 2


def test_w3c_403_7_logs_the_win32_code(tmp_path: Path) -> None:
    """403.7 is logged ``403 7 5`` (E_ACCESSDENIED 0x80070005 as its Win32 code)."""
    content = samples.iis_header() + samples.iis_line(
        sc_status=403, sc_substatus=7, sc_win32_status=5
    )
    events, _ = read(tmp_path, "u_ex.log", content)
    assert [e.codes for e in events] == [("iis:403.7", "hresult:E_ACCESSDENIED")]
    assert events[0].win32_status == 5 and events[0].hresult == 0x80070005


def test_w3c_malformed_lines_are_skipped_and_reported(tmp_path: Path) -> None:
    good = samples.iis_line(sc_status=403, sc_substatus=16, sc_win32_status=2148204809).encode()
    content = (
        b"#Software: Microsoft Internet Information Services 10.0\r\n"
        + b"10.0.0.9 POST /Svc 403 16 0\r\n"  # before any #Fields, not the default shape
        + samples.iis_header().encode()
        + b"2024-03-05 10:12:44 10.0.0.5 POST 403 16\r\n"  # truncated line
        + b"\x00\x01\x02 403 \x00\r\n"  # binary junk
        + good
        + good.replace(b"/Svc", b"/Sv\xe4c")  # cp1252, not UTF-8
    )
    events, result = read(tmp_path, "bad.log", content)
    assert len(events) == 2
    assert result.skipped == 3
    assert any("before any #Fields" in p.message for p in result.problems)
    assert any("values for 15 #Fields" in p.message for p in result.problems)
    assert any("binary data" in p.message for p in result.problems)
    assert "replacement characters" in " ".join(result.notes)


def test_httperr_only_tls_reasons_are_client_certificate_events(tmp_path: Path) -> None:
    content = samples.httperr_log(
        [
            (T0, "10.0.0.9", 400, "BadRequest"),
            (T0, "10.0.0.9", 0, "Timer_ConnectionIdle"),
            (T0, "10.0.0.7", 503, "QueueFull"),
            (T0, "10.0.0.7", 503, "ConnLimit"),
            (T0, "10.0.0.7", 400, "Hostname"),
            (T0, "10.0.0.7", 0, "Timer_MinBytesPerSecond"),
            (T0, "10.0.0.7", 505, "Version_N/S"),
            (T0, "10.0.0.8", 0, "SslHandshakeFailed"),  # a reason naming TLS, if one appears
        ]
    )
    events, result = read(tmp_path, "httperr1.log", content)
    assert result.format == "httperr"
    assert [e.codes for e in events] == [("iis:httperr-SslHandshakeFailed",)]
    assert events[0].line == 12 and events[0].client_ip == "10.0.0.8"
    assert dict(result.other) == {
        f"other HTTP.sys errors: {reason}": 1
        for reason in (
            "BadRequest",
            "Timer_ConnectionIdle",
            "QueueFull",
            "ConnLimit",
            "Hostname",
            "Timer_MinBytesPerSecond",
            "Version_N/S",
        )
    }


def test_httperr_without_fields_header_read_with_defaults(tmp_path: Path) -> None:
    rows = samples.httperr_log([(T0, "10.0.0.9", 400, "Hostname")]).splitlines()[4:]
    events, result = read(tmp_path, "httperr2.log", "\r\n".join(rows) + "\r\n")
    assert result.format == "httperr" and events == [] and result.skipped == 0
    assert dict(result.other) == {"other HTTP.sys errors: Hostname": 1}
    assert "default fields" in " ".join(result.notes)


# --- Windows events as XML ---------------------------------------------------------------------


def _events_xml(*events: str, wrapped: bool = False) -> str:
    body = "\r\n".join(events)
    return f"<Events>{body}</Events>" if wrapped else body


@pytest.mark.parametrize("wrapped", [False, True])
def test_schannel_and_capi2_events(tmp_path: Path, wrapped: bool) -> None:
    content = _events_xml(
        samples.schannel_event(T0, 36887, alert=48),
        samples.schannel_event(T0, 36888, alert=40, state=1205),
        samples.schannel_event(T0, 36885),
        samples.capi2_chain_event(T0),
        samples.capi2_chain_event(T0, result=0, error_status=0),  # success: not an event
        samples.capi2_chain_event(T0, channel="Application"),  # Automatic Root Update trap
        samples.windows_event(
            T0, provider="Service Control Manager", event_id=7036, channel="System"
        ),
        wrapped=wrapped,
    )
    events, result = read(tmp_path, "system.xml", content)
    assert result.format == "windows-events-xml"
    assert [e.codes for e in events] == [
        ("schannel:36887", "tls-alert:48"),
        ("schannel:36888", "tls-alert:40"),
        ("schannel:36885",),
        ("capi2:11", "hresult:CERT_E_UNTRUSTEDROOT", "cert-trust:CERT_TRUST_IS_UNTRUSTED_ROOT"),
    ]
    capi2 = events[3]
    assert capi2.subject == "client01"
    assert capi2.thumbprint == "A909502DD82AE41433E6F83886B00D4277A32A7B"
    assert events[0].tls_alert == 48 and events[0].host == "web01.contoso.test"


def test_event_xml_utf16_export(tmp_path: Path) -> None:
    content = '<?xml version="1.0" encoding="utf-16"?>' + _events_xml(
        samples.schannel_event(T0, 36887, alert=46), wrapped=True
    )
    events, result = read(tmp_path, "saved.xml", content.encode("utf-16"))
    assert [e.codes for e in events] == [("schannel:36887", "tls-alert:46")]
    assert "UTF-16" in result.notes[0]


def test_event_xml_entity_bomb_refused(tmp_path: Path) -> None:
    content = '<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]>' + samples.schannel_event(
        T0, 36887, alert=48
    ).replace(">48<", ">&a;<")
    events, result = read(tmp_path, "xxe.xml", content)
    assert events == [] and result.error is not None and "refused" in result.error


# --- System.Net, nginx, Apache --------------------------------------------------------------


def test_sysnet_certificate_dump_null_and_handshake_lines(tmp_path: Path, pki: PKI) -> None:
    root = pki.root("Contoso Root")
    client = root.client("client01")
    trace = (
        samples.sysnet_client_certificate(
            T0, f"CN={client.name}", issuer=f"CN={root.name}", thumbprint=client.sha1
        )
        + samples.sysnet_client_certificate(T0 + timedelta(seconds=1), None)
        + samples.sysnet_line(
            "System.Net",
            "Information",
            4120,
            "SecureChannel#1234 - Left with 0 client certificates to choose from.",
            T0,
        )
        + samples.sysnet_line(
            "System.Net",
            "Information",
            4120,
            "InitializeSecurityContext(In-Buffer length=0, Out-Buffer length=0, "
            "returned code=CredentialsNeeded).",
            T0,
        )
        + samples.sysnet_line(
            "System.Net", "Information", 4120, "InitializeSecurityContext(returned code=OK).", T0
        )
    )
    events, result = read(tmp_path, "System.Net.trace.log", trace)
    assert result.format == "sysnet"
    dump, null, left, needed = events
    assert (dump.subject, dump.issuer, dump.thumbprint) == (
        f"CN={client.name}",
        f"CN={root.name}",
        client.sha1,
    )
    assert dump.codes == () and dump.time == T0 and dump.line == 3
    assert null.codes == ("certgate:no-certificate",)
    assert left.codes == ("certgate:no-certificate",)
    assert needed.codes == ("hresult:SEC_I_INCOMPLETE_CREDENTIALS",)


def test_nginx_error_log(tmp_path: Path) -> None:
    content = (
        samples.nginx_error_line(
            T0,
            "client SSL certificate verify error: (20:unable to get local issuer certificate)",
        )
        + samples.nginx_error_line(T0, "client sent no required SSL certificate")
        + "2024/03/05 10:00:00 [info] 2411#2411: *3 SSL_do_handshake() failed (SSL: error:"
        "0A000418:SSL routines::tlsv1 alert unknown ca:SSL alert number 48) while SSL "
        "handshaking, client: 10.0.0.8, server: 0.0.0.0:443\n"
        + samples.nginx_error_line(
            T0, 'open() "/srv/x" failed (2: No such file) SSL', level="error"
        )
    )
    events, result = read(tmp_path, "error.log", content)
    assert result.format == "nginx"
    assert [e.codes for e in events] == [
        ("nginx:495", "openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"),
        ("nginx:496",),
        ("tls-alert:48",),
    ]
    assert events[0].client_ip == "10.0.0.9" and events[0].url == "/orders"
    assert events[2].client_ip == "10.0.0.8" and events[2].tls_alert == 48
    assert any("read as UTC" in note for note in result.notes)


def test_apache_mod_ssl_log(tmp_path: Path) -> None:
    content = (
        samples.apache_error_line(
            T0,
            "AH02039: Certificate Verification: Error (20): unable to get local issuer certificate",
        )
        + samples.apache_error_line(
            T0,
            "AH02276: Certificate Verification: Error (10): certificate has expired "
            "[subject: CN=alice / issuer: CN=Issuing CA / serial: 1A / notbefore: x / notafter: y]",
            level="info",
        )
        + samples.apache_error_line(
            T0,
            "SSL Library Error: error:0A000418:SSL routines::tlsv1 alert unknown ca "
            "(SSL alert number 48)",
            level="info",
        )
        + samples.apache_error_line(T0, "AH01964: Connection to child 1 established", level="info")
    )
    events, result = read(tmp_path, "ssl_error_log", content)
    assert result.format == "apache"
    assert [e.codes for e in events] == [
        ("apache:AH02039", "openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"),
        ("apache:AH02276", "openssl:X509_V_ERR_CERT_HAS_EXPIRED"),
        ("tls-alert:48",),
    ]
    assert events[1].subject == "CN=alice" and events[1].issuer == "CN=Issuing CA"
    assert events[0].client_ip == "10.0.0.9" and events[0].time == T0


def test_unknown_content_is_refused(tmp_path: Path) -> None:
    events, result = read(tmp_path, "notes.txt", "just some text\nnothing to see\n")
    assert events == [] and result.error is not None and "not a log format" in result.error


# --- Windows events as .evtx -------------------------------------------------------------------
# The files come from certgate.testing.logs.evtx_file: BinXML assembled from the documented
# format, then read by the real evtx library. No real Windows export exists on this machine.


def _evtx_sample() -> bytes:
    return samples.evtx_file(
        [
            samples.schannel_event(T0, 36887, alert=48, record_id=1),
            samples.windows_event(T0, provider="EventLog", event_id=6005, channel="System"),
            samples.capi2_chain_event(T0 + timedelta(seconds=1), record_id=3),
            samples.schannel_event(T0 + timedelta(seconds=2), 36888, alert=40, record_id=4),
        ]
    )


def test_evtx_schannel_and_capi2(tmp_path: Path) -> None:
    events, result = read(tmp_path, "System.evtx", _evtx_sample())
    assert (result.format, result.events, result.skipped) == ("evtx", 3, 0)
    assert [e.codes for e in events] == [
        ("schannel:36887", "tls-alert:48"),
        ("capi2:11", "hresult:CERT_E_UNTRUSTEDROOT", "cert-trust:CERT_TRUST_IS_UNTRUSTED_ROOT"),
        ("schannel:36888", "tls-alert:40"),
    ]
    assert [e.location.rsplit("#", 1)[1] for e in events] == ["1", "3", "4"]
    assert events[1].time == T0 + timedelta(seconds=1) and events[1].subject == "client01"


def test_evtx_inside_gzip_and_damaged_record(tmp_path: Path) -> None:
    import gzip

    events, result = read(tmp_path, "System.evtx.gz", gzip.compress(_evtx_sample()))
    assert result.format == "evtx" and len(events) == 3
    data = bytearray(_evtx_sample())
    value = data.find("36887".encode("utf-16-le"))
    data[value - 3] = 0x77  # an invalid BinXML value type in record 1
    events, result = read(tmp_path, "damaged.evtx", bytes(data))
    assert [e.event_id for e in events] == [11, 36888]
    assert result.skipped == 1 and "damaged EVTX record" in result.problems[0].message


def test_evtx_garbage_after_magic_is_refused(tmp_path: Path) -> None:
    events, result = read(tmp_path, "junk.evtx", b"ElfFile\x00" + b"\xff" * 5000)
    assert events == [] and result.error is not None
