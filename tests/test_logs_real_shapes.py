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
from certgate.logs import FileResult, read_events, samples

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
