"""``certgate logs``: exit codes, the certgate.logs/1 document, JSON lines, warnings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from certgate.cli import main
from certgate.testing import logs as samples

T0 = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def seed_logs(tmp_path: Path) -> Path:
    """The seed case: a self-hosted WCF trace with 0x109 and an IIS log with 403.16."""
    records = samples.svclog_client_cert_failures(T0, 4, interval=timedelta(minutes=1))
    (tmp_path / "service.svclog").write_text("\r\n".join(records) + "\r\n")
    (tmp_path / "u_ex240305.log").write_text(
        samples.iis_client_cert_failures(
            T0 + timedelta(seconds=30), 3, interval=timedelta(minutes=1)
        )
    )
    return tmp_path


def test_json_document(seed_logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", str(seed_logs), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "certgate.logs/1"
    files = {Path(f["path"]).name: f for f in document["files"]}
    assert files["service.svclog"] | {"path": None} == {
        "path": None,
        "format": "svclog",
        "events": 4,
        "skipped": 0,
        "error": None,
        "problems": [],
        "other": [],
        "notes": [],
    }
    assert files["u_ex240305.log"]["events"] == 3
    groups = {g["code"]: g for g in document["groups"]}
    untrusted = groups["hresult:CERT_E_UNTRUSTEDROOT"]
    assert (untrusted["name"], untrusted["count"]) == ("CERT_E_UNTRUSTEDROOT", 7)
    assert untrusted["first"]["time"] == "2024-03-05T10:00:00Z"
    assert untrusted["first"]["where"].endswith("service.svclog@0")
    assert untrusted["last"] == {
        "time": "2024-03-05T10:03:00Z",
        "where": untrusted["last"]["where"],
    }
    assert groups["iis:403.16"]["count"] == 3
    assert groups["wcf:HttpsClientCertificateInvalid"]["name"] == "HttpsClientCertificateInvalid"
    summary = document["summary"]
    assert (summary["events"], summary["first"], summary["last"]) == (
        7,
        "2024-03-05T10:00:00Z",
        "2024-03-05T10:03:00Z",
    )
    assert summary["client_ips"] == [
        {"value": "10.0.0.9", "count": 2},
        {"value": "10.0.0.17", "count": 1},
    ]
    assert summary["histogram"]["bucket_seconds"] == 60
    assert any(note.startswith("[inferred]") for note in summary["notes"])


def test_events_as_json_lines_with_time_window(
    seed_logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["logs", str(seed_logs / "service.svclog"), "--events", "--since", "2024-03-05T10:01:00Z",
         "--until", "2024-03-05T10:02:00"]
    )  # fmt: skip
    assert code == 1
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["time"] for e in events] == ["2024-03-05T10:01:00Z", "2024-03-05T10:02:00Z"]
    assert events[0]["codes"] == [
        "wcf:HttpsClientCertificateInvalid",
        "hresult:CERT_E_UNTRUSTEDROOT",
    ]


def test_text_summary(
    seed_logs: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["logs", str(seed_logs)]) == 1
    out = capsys.readouterr().out
    assert "7 event(s)" in out
    assert "hresult:CERT_E_UNTRUSTEDROOT" in out and "iis:403.16" in out
    assert "[inferred] native error code 0x109" in out


def test_no_events_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.svclog").write_text(samples.svclog_routine(T0, 1))
    assert main(["logs", str(tmp_path / "ok.svclog")]) == 0
    assert "No client-certificate events found." in capsys.readouterr().out


def test_bad_file_among_good_is_a_warning(
    seed_logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (seed_logs / "junk.bin").write_bytes(b"\x00\x01binary")
    assert main(["logs", str(seed_logs), "--json"]) == 1
    captured = capsys.readouterr()
    assert "warning:" in captured.err and "junk.bin" in captured.err
    document = json.loads(captured.out)
    junk = next(f for f in document["files"] if f["path"].endswith("junk.bin"))
    assert junk["format"] is None and "not a log format" in junk["error"]


def test_only_bad_inputs_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "junk.bin").write_bytes(b"\x00\x01binary")
    assert main(["logs", str(tmp_path / "junk.bin")]) == 2
    assert "not a log format" in capsys.readouterr().err
    assert main(["logs", str(tmp_path / "nothing-here.log")]) == 2


def test_usage_errors(seed_logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", str(seed_logs), "--json", "--events"]) == 2
    assert main(["logs", str(seed_logs), "--since", "yesterday-ish"]) == 2
    assert main(["logs", str(seed_logs), "--format", "nope"]) == 2
    assert main(["logs"]) == 2


def test_forced_format(seed_logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", str(seed_logs / "u_ex240305.log"), "--format", "iis-w3c", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["files"][0]["format"] == "iis-w3c"


def test_seed_case_writer_for_the_doctor(tmp_path: Path) -> None:
    from certgate.logs import read_events

    paths = samples.write_seed_case(tmp_path / "evidence", T0, count=5)
    assert [p.name for p in paths] == ["service.svclog", "u_ex240305.log"]
    events, files = read_events(paths)
    assert [(f.format, f.events, f.skipped) for f in files] == [("svclog", 5, 0), ("iis-w3c", 5, 0)]
    assert all("hresult:CERT_E_UNTRUSTEDROOT" in e.codes for e in events)
    assert {e.native_error for e in events if e.format == "svclog"} == {"0x109"}
    assert {(e.status, e.substatus, e.win32_status) for e in events if e.format == "iis-w3c"} == {
        (403, 16, 2148204809)
    }
