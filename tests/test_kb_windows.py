"""Windows readings of the knowledge base, checked against "Schannel error codes for TLS and SSL
alerts" (learn.microsoft.com/windows/win32/secauthn/schannel-error-codes-for-tls-and-ssl-alerts)
and winerror.h (docs/windows-model.md#tls-alerts, #hresults)."""

from __future__ import annotations

import json

import pytest

from certgate.cli import main
from certgate.core.codes import schannel_alert_error
from certgate.core.kb import knowledge_base

KB = knowledge_base()


@pytest.mark.parametrize(
    ("alert", "hresult"),
    [
        (42, "SEC_E_CERT_UNKNOWN"),
        (43, "SEC_E_CERT_UNKNOWN"),
        (46, "SEC_E_CERT_UNKNOWN"),
        (48, "SEC_E_UNTRUSTED_ROOT"),
        (44, "CRYPT_E_REVOKED"),
        (45, "SEC_E_CERT_EXPIRED"),
        (40, "SEC_E_ILLEGAL_MESSAGE"),
        (116, "SEC_E_ILLEGAL_MESSAGE"),
        (71, "SEC_E_ALGORITHM_MISMATCH"),
        (70, "SEC_E_UNSUPPORTED_FUNCTION"),
        (49, "SEC_E_LOGON_DENIED"),
        (51, "SEC_E_DECRYPT_FAILURE"),
        (20, "SEC_E_MESSAGE_ALTERED"),
    ],
)
def test_alert_as_a_windows_receiver_reports_it(alert: int, hresult: str) -> None:
    """learn.microsoft.com "Schannel error codes for TLS and SSL alerts": what a Windows peer
    reports on receiving each alert (docs/windows-model.md#tls-alerts)."""
    assert schannel_alert_error(alert) == hresult
    [entry] = [e for e in KB.entries("tls-alert") if e.value == alert]
    assert f"hresult:{hresult}" in entry.related
    assert any(label == "Windows receiver" and hresult in text for label, text in entry.forms)


def _explain(capsys: pytest.CaptureFixture[str], text: str) -> list[str]:
    assert main(["explain", text, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    return [m.get("id") or m["entry"]["id"] for m in document["matches"]]


@pytest.mark.parametrize(
    "text", ["0x8009030D", "The credentials supplied to the package were not recognized"]
)
def test_unknown_credentials(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """winerror.h SEC_E_UNKNOWN_CREDENTIALS 0x8009030D and its message text."""
    assert _explain(capsys, text)[0] == "hresult:SEC_E_UNKNOWN_CREDENTIALS"
    entry = KB.get("hresult:SEC_E_UNKNOWN_CREDENTIALS")
    assert entry is not None and "private key" in entry.meaning


def test_alert_48_gives_the_windows_reading(capsys: pytest.CaptureFixture[str]) -> None:
    assert _explain(capsys, "alert 48")[0] == "tls-alert:48"
    entry = KB.get("tls-alert:48")
    assert entry is not None and "SEC_E_UNTRUSTED_ROOT" in entry.meaning


@pytest.mark.parametrize("name", ["SEC_E_UNTRUSTED_ROOT", "SEC_E_CERT_UNKNOWN"])
def test_client_side_readings_point_at_the_server(name: str) -> None:
    """On a Windows client presenting a certificate, these mean the server refused it."""
    entry = KB.get(f"hresult:{name}")
    assert entry is not None
    assert "look at the server" in " ".join(entry.fixes).lower() or "server" in entry.fixes[0]
    assert "client" in entry.meaning and "server" in entry.meaning


@pytest.mark.parametrize(
    "text",
    [
        "A fatal alert was generated and sent to the remote endpoint. This may result in "
        "termination of the connection. The TLS protocol defined fatal error code is 40. "
        "The Windows SChannel error state is 1205.",
        "The following fatal alert was generated: 40. The internal error state is 1205.",
    ],
)
def test_schannel_36888_yields_its_alert(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """Schannel 36888's templates (old and new builds; docs/windows-model.md#schannel-events)
    carry the alert number as 36887's do."""
    found = _explain(capsys, text)
    assert {"tls-alert:40", "schannel:36888"} <= set(found)


def test_e_accessdenied_has_the_winerror_text() -> None:
    entry = KB.get("hresult:E_ACCESSDENIED")
    assert entry is not None and "General access denied error" in entry.messages


def test_untrustedroot_meaning_covers_the_kb2802568_cause() -> None:
    entry = KB.get("hresult:CERT_E_UNTRUSTEDROOT")
    assert entry is not None and "KB 2802568" in entry.meaning


def test_facility_win32_hresults_show_the_win32_code_iis_logs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """docs/windows-model.md#sc-win32-status: IIS logs 0x80070005 as 5 and 0x80070032 as 50;
    the full unsigned value is still recognised (some tools print it)."""
    entry = KB.get("hresult:E_ACCESSDENIED")
    assert entry is not None and ("sc-win32-status", "5") in entry.forms
    assert _explain(capsys, "2147942450")[0] == "hresult:ERROR_NOT_SUPPORTED"
    assert _explain(capsys, "403 7 5")[:2] == ["iis:403.7", "hresult:E_ACCESSDENIED"]
