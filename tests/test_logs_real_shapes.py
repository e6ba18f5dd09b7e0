"""Readers on the shapes people really paste and servers really write (issue 16): CAPI2 purpose
and Result, HTTPERR reasons, IIS rows without #Fields, and the doctor on what it could not read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from certgate.cli import main
from certgate.core.events import LogEvent
from certgate.logs import FileResult, read_events
from certgate.testing import logs as samples

T0 = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
CODE_SIGNING = "1.3.6.1.5.5.7.3.3"
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
SERVER_AUTH = "1.3.6.1.5.5.7.3.1"


def read(tmp_path: Path, name: str, content: str | bytes) -> tuple[list[LogEvent], FileResult]:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    events, files = read_events([path])
    assert len(files) == 1
    return events, files[0]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


# --- CAPI2: Result, level, purpose, RevocationResult -------------------------------------------


def test_capi2_successful_builds_with_status_bits_are_not_failures(tmp_path: Path) -> None:
    # Information-level Build Chain, Result 0, revocation status unknown: a code-signing check
    # that succeeded (the shape of the field report in issue 16).
    content = samples.capi2_chain_event(
        T0,
        result=0,
        error_status=0x40,
        level=4,
        usage=(CODE_SIGNING,),
        revocation=0x80092012,
        process="svchost.exe",
    )
    events, result = read(tmp_path, "capi2.xml", content)
    assert events == []
    assert dict(result.other) == {"successful CAPI2 event 11 operations": 1}


def test_capi2_purpose_decides_client_certificate_evidence(tmp_path: Path) -> None:
    content = "".join(
        (
            samples.capi2_chain_event(T0, usage=(CODE_SIGNING,), record_id=1),
            samples.capi2_chain_event(T0, usage=(SERVER_AUTH, "1.3.6.1.4.1.311.10.3.3")),
            samples.capi2_policy_event(T0, auth_type="server"),  # outbound SMTP, say
            samples.capi2_policy_event(T0, auth_type="client"),
            samples.capi2_chain_event(
                T0, usage=(CLIENT_AUTH,), result=0x80092013, error_status=0x1000040
            ),
            samples.capi2_chain_event(T0),  # no ExtendedKeyUsage: unknown purpose, labelled
        )
    )
    events, result = read(tmp_path, "capi2.xml", content)
    assert [(e.event_id, e.purpose) for e in events] == [
        (30, "client-auth"),
        (11, "client-auth"),
        (11, None),
    ]
    assert events[1].codes == (
        "capi2:11",
        "hresult:CRYPT_E_REVOCATION_OFFLINE",
        "cert-trust:CERT_TRUST_REVOCATION_STATUS_UNKNOWN",
        "cert-trust:CERT_TRUST_IS_OFFLINE_REVOCATION",
    )
    assert "purpose is not in the event" in events[2].notes[0]
    assert dict(result.other) == {
        "failed CAPI2 event 11 for code-signing (not client authentication)": 1,
        "failed CAPI2 event 11 for server-auth (not client authentication)": 1,
        "failed CAPI2 event 30 for server-auth (not client authentication)": 1,
    }


def test_capi2_revocation_result_is_mapped_exactly(tmp_path: Path) -> None:
    content = samples.capi2_chain_event(
        T0, usage=(CLIENT_AUTH,), result=0x800B0109, revocation=0x80092012
    )
    events, _ = read(tmp_path, "capi2.xml", content)
    assert "hresult:CRYPT_E_NO_REVOCATION_CHECK" in events[0].codes
    assert "hresult:CRYPT_E_REVOCATION_OFFLINE" not in events[0].codes


def test_doctor_on_successful_code_signing_evtx_finds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evtx = tmp_path / "CAPI2.evtx"
    evtx.write_bytes(
        samples.evtx_file(
            [
                samples.capi2_chain_event(
                    T0,
                    result=0,
                    error_status=0x1000040,
                    level=4,
                    usage=(CODE_SIGNING,),
                    revocation=0x80092012,
                    record_id=n,
                )
                for n in (1, 2)
            ]
        )
    )
    code, document = run(capsys, "doctor", "--logs", str(evtx))
    assert (code, document["verdict"], document["causes"]) == (0, "no-cause-found", [])
    assert document["symptoms"] == [] and document["observed_clients"] == []


def test_doctor_does_not_list_server_auth_chains_as_clients(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "capi2.xml"
    path.write_text(samples.capi2_policy_event(T0, auth_type="server", subject="smtp.example"))
    code, document = run(capsys, "doctor", "--logs", str(path))
    assert code == 0 and document["observed_clients"] == [] and document["symptoms"] == []


# --- HTTPERR -----------------------------------------------------------------------------------


def test_logs_on_httperr_with_only_non_tls_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "httperr1.log"
    path.write_text(
        samples.httperr_log(
            [
                (T0, "10.0.0.9", 503, "ConnLimit"),
                (T0, "10.0.0.9", 400, "Hostname"),
                (T0, "10.0.0.9", 505, "Version_N/S"),
                (T0, "10.0.0.9", 0, "Timer_MinBytesPerSecond"),
            ]
        )
    )
    code, document = run(capsys, "logs", str(path))
    assert code == 0 and document["summary"]["events"] == 0
    (item,) = document["files"]
    assert {o["kind"] for o in item["other"]} == {
        "other HTTP.sys errors: ConnLimit",
        "other HTTP.sys errors: Hostname",
        "other HTTP.sys errors: Version_N/S",
        "other HTTP.sys errors: Timer_MinBytesPerSecond",
    }
    main(["logs", str(path)])
    assert "4 other HTTP.sys errors" not in capsys.readouterr().out  # one line per reason


# --- IIS rows without #Fields --------------------------------------------------------------------

# Shape of the row in Microsoft's "Troubleshoot NDES" article (learn.microsoft.com): no header,
# no date, redacted client address, wrapped after the address.
NDES_ROW = (
    "IIS log:\r\n\r\n"
    "POST /CertificateRegistrationSvc/Certificate/VerifyRequest - 443 -<IP_address>\r\n"
    "NDES_Plugin - 403 16 2148204809 453  \r\n"
)


def test_pasted_ndes_row_wrapped_and_redacted(tmp_path: Path) -> None:
    events, result = read(tmp_path, "ticket.txt", NDES_ROW)
    assert result.format == "iis-pasted"
    (event,) = events
    assert event.codes == ("iis:403.16", "hresult:CERT_E_UNTRUSTEDROOT")
    assert (
        event.client_ip is None
        and event.url == "/CertificateRegistrationSvc/Certificate/VerifyRequest"
    )
    assert event.line == 3
    assert result.skipped == 1 and "not an IIS log row" in result.problems[0].message
    assert "without a #Fields header" in result.notes[0]


def test_doctor_on_the_pasted_row_names_the_symptom_and_likely_causes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pasted.txt"
    path.write_text("... 403 16\n2148204809 ...\n")
    code, document = run(capsys, "doctor", "--logs", str(path))
    assert code == 1 and document["verdict"] == "symptoms-unexplained"
    (symptom,) = document["unexplained"]
    assert symptom["codes"] == ["iis:403.16", "hresult:CERT_E_UNTRUSTEDROOT"]
    assert "KB 2802568" in symptom["likely_causes"][0]
    assert main(["doctor", "--logs", str(path)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "IIS 403.16 / 2148204809 (CERT_E_UNTRUSTEDROOT)" in out
    assert "Likely causes" in out and "nothing in the logs points" not in out


def test_pasted_crl_offline_row_in_a_web_page(tmp_path: Path) -> None:
    page = (
        "<html><body><p>IIS log shows:</p><pre>2024-03-05 10:12:44 10.0.0.5 GET /certsrv/ - 443 -"
        " 10.0.0.9 Mozilla/5.0 - 403 13 2148081683 31</pre></body></html>\n"
    )
    events, result = read(tmp_path, "ticket.html", page)
    assert result.format == "iis-pasted"
    assert [e.codes for e in events] == [("iis:403.13", "hresult:CRYPT_E_REVOCATION_OFFLINE")]
    assert events[0].client_ip == "10.0.0.9" and events[0].time is not None


def test_w3c_rows_without_fields_use_iis_defaults(tmp_path: Path) -> None:
    rows = samples.iis_client_cert_failures(T0, 2).split("\r\n", 4)[4]
    events, result = read(tmp_path, "u_ex240305.log", rows)
    assert result.format == "iis-w3c" and len(events) == 2
    assert "IIS's default field set" in result.notes[0]


def test_fields_option_reads_a_custom_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rows.log"
    path.write_text("2024-03-05 10:12:44 10.0.0.9 403 16 2148204809\n")
    code, document = run(
        capsys,
        "logs",
        str(path),
        "--fields",
        "date time c-ip sc-status sc-substatus sc-win32-status",
    )
    assert code == 1 and document["summary"]["client_ips"] == [{"value": "10.0.0.9", "count": 1}]


# --- the doctor with nothing, or not everything, to read ------------------------------------------


def test_doctor_with_nothing_to_read_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 2
    assert "nothing to diagnose" in capsys.readouterr().err


def test_doctor_that_read_nothing_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    assert main(["doctor", "--logs", str(junk)]) == 2
    assert "nothing could be read" in capsys.readouterr().err


def test_doctor_that_read_part_never_says_all_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    good = tmp_path / "u_ex1.log"
    good.write_text(samples.iis_header() + samples.iis_line())
    code, document = run(capsys, "doctor", "--logs", str(junk), "--logs", str(good))
    assert code == 0 and document["verdict"] == "incomplete"
    assert "notes.txt" in document["unread"][0]
    main(["doctor", "--logs", str(junk), "--logs", str(good)])
    out = " ".join(capsys.readouterr().out.split())
    assert "points to" not in out and "not read:" in out


# --- nginx and Apache as they are really forwarded and configured ----------------------------


def test_nginx_behind_syslog_without_date_upstream_and_redacted(tmp_path: Path) -> None:
    content = (
        # rsyslog forwarding (RFC 3164 with PRI), then nginx's own line
        "<190>Oct 14 12:00:01 web1 nginx: 2020/10/14 12:00:01 [info] 30979#0: *7 client SSL "
        "certificate verify error: (10:certificate has expired) while reading client request "
        'headers, client: 203.0.113.7, server: api.example, request: "GET / HTTP/1.1"\n'
        # no date (error_log to stderr under a supervisor)
        "[info] 30979#0: *8 client sent no required SSL certificate while reading client "
        "request headers, client: ..., server: api.example\n"
        # nginx's own client certificate refused by the backend
        "2020/10/14 12:00:03 [error] 30979#0: *9 SSL_do_handshake() failed (SSL: error:"
        "14094412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:SSL alert number 42)"
        " while SSL handshaking to upstream, client: 198.51.100.4, server: api.example, "
        'request: "GET /x HTTP/1.1", upstream: "https://10.1.0.5:443/x"\n'
        "2020/10/14 12:00:04 [notice] 30979#0: signal process started\n"
    )
    events, result = read(tmp_path, "error.log", content)
    assert result.format == "nginx" and result.skipped == 0
    assert [(e.codes, e.side, e.client_ip) for e in events] == [
        (("nginx:495", "openssl:X509_V_ERR_CERT_HAS_EXPIRED"), "downstream", "203.0.113.7"),
        (("nginx:496",), "downstream", None),
        (("tls-alert:42",), "upstream", None),
    ]
    assert events[0].time is not None and events[1].time is None
    assert any("syslog" in note for note in result.notes)


def test_forced_nginx_on_foreign_lines_says_what_it_skipped(tmp_path: Path) -> None:
    path = tmp_path / "weird.log"
    path.write_text("2020-10-14T12:00:00 SSL handshake failed somewhere\n")
    events, files = read_events([path], format="nginx")
    assert events == [] and files[0].skipped == 1
    assert "not an nginx error-log line" in files[0].problems[0].message


def test_apache_22_and_debug_lines(tmp_path: Path) -> None:
    content = (
        "[Wed Oct 14 12:00:00 2020] [error] Certificate Verification: Error (12): CRL has "
        "expired\n"
        "[Wed Oct 14 12:00:01 2020] [info] [client 10.0.0.9] SSL library error 1 in handshake "
        "(server www.example:443)\n"
        "[Wed Oct 14 12:00:02 2020] [debug] ssl_engine_kernel.c(1381): Certificate "
        "Verification: depth: 1, subject: /CN=Issuing CA, issuer: /CN=Root\n"
        "[Wed Oct 14 12:00:03.123456 2020] [ssl:info] [pid 42:tid 7] ssl_engine_kernel.c(591): "
        "[client 10.0.0.9:55000] AH02276: Certificate Verification: Error (20): unable to get "
        "local issuer certificate [subject: CN=bob / issuer: CN=Issuing CA / serial: 01 / "
        "notbefore: x / notafter: y]\n"
        "[Wed Oct 14 12:00:04.000001 2020] [ssl:error] [pid 42:tid 7] [remote 10.1.0.5:443] "
        "AH02003: SSL Proxy connect failed\n"
        "[Wed Oct 14 12:00:04.000002 2020] [ssl:info] [pid 42:tid 7] [remote 10.1.0.5:443] "
        "SSL Library Error: error:0A000412:SSL routines::sslv3 alert bad certificate "
        "(SSL alert number 42)\n"
    )
    events, result = read(tmp_path, "ssl_error_log", content)
    assert result.format == "apache"
    assert [(e.codes, e.side) for e in events] == [
        (("apache:AH02039", "openssl:X509_V_ERR_CRL_HAS_EXPIRED"), "downstream"),
        (("apache:AH02276", "openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"), "downstream"),
        (("tls-alert:42",), "upstream"),
    ]
    assert "Apache 2.2" in events[0].notes[0]
    assert events[1].client_ip == "10.0.0.9" and events[1].subject == "CN=bob"


def test_apache_22_detected_by_content(tmp_path: Path) -> None:
    content = "[Wed Oct 14 12:00:00 2020] [error] [client 10.0.0.9] Certificate Verification: "
    content += "Error (10): certificate has expired\n"
    events, result = read(tmp_path, "error_log", content)
    assert result.format == "apache" and events[0].client_ip == "10.0.0.9"


# --- System.Net traces: the reason line, and other languages ---------------------------------


def _sysnet(*messages: str) -> str:
    return "".join(
        samples.sysnet_line("System.Net", "Information", 4120, message, None)
        for message in messages
    )


def test_sysnet_reason_line_after_remote_certificate_has_errors(tmp_path: Path) -> None:
    trace = _sysnet(
        "SecureChannel#30631159 - Remote certificate has errors:",
        "SecureChannel#30631159 - \tA certificate chain processed, but terminated in a root "
        "certificate which is not trusted by the trust provider.",
        "SecureChannel#30631159 - Remote certificate was verified as invalid by the user.",
    )
    events, _result = read(tmp_path, "network.log", trace)
    (event,) = events
    assert event.codes == ("hresult:CERT_E_UNTRUSTEDROOT",) and event.line == 1
    assert "terminated in a root certificate" in (event.message or "")


@pytest.mark.parametrize(
    ("language", "errors_line", "reason"),
    [
        (
            "de",
            "Das Remotezertifikat weist Fehler auf:",
            "Eine Zertifikatkette wurde zwar verarbeitet, endete jedoch mit einem "
            "Stammzertifikat, das beim Vertrauensanbieter nicht als vertrauenswürdig gilt.",
        ),
        (
            "fr",
            "Le certificat distant comporte des erreurs :",
            "Une chaîne de certificats a été traitée mais s'est terminée par un certificat racine "
            "qui n'est pas approuvé par le fournisseur d'approbation.",
        ),
        (
            "es",
            "El certificado remoto tiene errores:",
            "Una cadena de certificados procesada, pero terminada en un certificado raíz que no "
            "es de confianza para el proveedor de confianza.",
        ),
        (
            "ja",
            "リモート証明書にエラーがあります:",
            "証明書チェーンは処理されましたが、信頼プロバイダーが信頼していないルート証明書で"
            "終了しました。",
        ),
        ("zh-Hans", "远程证书有错误:", "已处理证书链，但是在不受信任提供程序信任的根证书中终止。"),
        (
            "ru",
            "Удаленный сертификат содержит ошибки:",
            "Цепочка сертификатов обработана, но обработка прервана на корневом сертификате, у "
            "которого отсутствует отношение доверия с поставщиком доверия.",
        ),
        (
            "pt",
            "O certificado remoto tem erros:",
            "Uma cadeia de certificados processada, mas terminada em um certificado raiz que não "
            "é confiável pelo provedor confiável.",
        ),
        (
            "ko",
            "원격 인증서에 오류가 있습니다:",
            "인증서 체인이 처리되었지만 신뢰 공급자가 신뢰하지 않는 루트 인증서에서 "
            "종료되었습니다.",
        ),
    ],
)
def test_sysnet_localized_trace(
    tmp_path: Path, language: str, errors_line: str, reason: str
) -> None:
    trace = _sysnet(
        "SecureChannel#30631159::.ctor(hostname=api.contoso.test, #clientCertificates=1, "
        "encryptionPolicy=RequireEncryption)",
        "InitializeSecurityContext(In-Buffers count=2, Out-Buffer length=0, "
        "returned code=CredentialsNeeded).",
        f"SecureChannel#30631159 - {errors_line}",
        f"SecureChannel#30631159 - \t{reason}",
        "SecureChannel#30631159 - SslPolicyErrors: RemoteCertificateChainErrors",
    )
    events, result = read(tmp_path, f"trace.{language}.log", trace)
    assert result.format == "sysnet"
    assert [e.codes for e in events] == [
        ("hresult:SEC_I_INCOMPLETE_CREDENTIALS",),
        ("hresult:CERT_E_UNTRUSTEDROOT",),
        ("dotnet:RemoteCertificateChainErrors",),
    ]


# --- IIS Failed Request Tracing ---------------------------------------------------------------


def test_freb_file_and_pasted_freb_fields(tmp_path: Path) -> None:
    events, result = read(tmp_path, "fr000001.xml", samples.freb_file(T0))
    assert result.format == "freb"
    (event,) = events
    assert event.codes == ("iis:403.16", "hresult:CERT_E_UNTRUSTEDROOT")
    assert event.time == T0 and event.url and event.url.endswith("/Service.svc")
    config = samples.freb_file(T0, status=500, substatus=19, error=2147942413, text="config")
    events, result = read(tmp_path, "fr000002.xml", config)
    assert events == [] and dict(result.other) == {"FREB failed requests with status 500.19": 1}
    pasted = (
        "FREB shows:\nModuleName IIS Web Core\nNotification BEGIN_REQUEST\nHttpStatus 403\n"
        "HttpReason Forbidden\nHttpSubStatus 16\nErrorCode A certificate chain processed, but "
        "terminated in a root certificate which is not trusted by the trust provider.\n"
        " (0x800b0109)\n"
    )
    events, result = read(tmp_path, "ticket.txt", pasted)
    assert result.format == "freb"
    assert [e.codes for e in events] == [("iis:403.16", "hresult:CERT_E_UNTRUSTEDROOT")]


def test_doctor_html_on_unexplained_failures_is_no_all_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pasted.txt"
    path.write_text("... 403 16 2148204809 ...\n")
    report = tmp_path / "report.html"
    assert main(["doctor", "--logs", str(path), "--html", str(report)]) == 1
    page = report.read_text()
    assert "no cause proven" in page and "No cause found" not in page
    assert "KB 2802568" in page


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ("garbage", "has no sc-status field"),
        ("date time sc-status sc-status", "sc-status named twice"),
        ("date tim$e sc-status", "'tim$e' is not a W3C field name"),
    ],
)
def test_fields_option_that_cannot_read_a_row_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fields: str, said: str
) -> None:
    # A --fields naming no status column used to read nothing and exit 0 ("no events").
    path = tmp_path / "rows.log"
    path.write_text("2024-03-05 10:12:44 10.0.0.9 403 16 2148204809\n")
    for command in (["logs", str(path)], ["doctor", "--logs", str(path)]):
        assert main([*command, "--fields", fields]) == 2
        err = capsys.readouterr().err
        assert "--fields" in err and said in err and "Traceback" not in err
