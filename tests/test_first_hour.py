"""Issue 19, a newcomer's first hour: install link, times relative to today, output fitted to
80 columns, one fix for many certificates."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.table import Table

from certgate.cli import main
from certgate.cli._common import TimeParam
from certgate.demo import seed_times, write_demo_folder
from certgate.report._fit import pack
from certgate.report.console import out_console
from certgate.testing import PKI

REPO = Path(__file__).resolve().parent.parent


def test_install_link_goes_to_a_folder_on_path(tmp_path: Path) -> None:
    target = tmp_path / "venv-certgate"
    target.write_text("#!/bin/sh\n")
    on_path = tmp_path / "prefix"
    (on_path / "bin").mkdir(parents=True)
    env = {**os.environ, "PREFIX": str(on_path), "PATH": f"{on_path / 'bin'}:/usr/bin:/bin"}
    tool = REPO / "tools" / "install_link.py"
    done = subprocess.run(
        [sys.executable, str(tool), str(target)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (on_path / "bin" / "certgate").resolve() == target.resolve()
    assert "not on your PATH" not in done.stdout
    env["PATH"] = "/usr/bin:/bin"  # again, now off PATH: it says how to put it there
    done = subprocess.run(
        [sys.executable, str(tool), str(target)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and f'export PATH="{on_path / "bin"}:$PATH"' in done.stdout


def test_install_link_never_replaces_a_real_file(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "certgate").write_text("mine")
    env = {**os.environ, "PREFIX": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(REPO / "tools" / "install_link.py"), sys.executable],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "left alone" in done.stderr
    assert (tmp_path / "bin" / "certgate").read_text() == "mine"


def test_seed_times_are_yesterday_and_now() -> None:
    now = datetime(2027, 1, 1, 0, 30, tzinfo=UTC)
    start, at = seed_times(now)
    assert start == datetime(2026, 12, 31, 10, 2, tzinfo=UTC) and at == now


def test_yesterday_with_a_time_of_day() -> None:
    parsed = TimeParam().convert("yesterday 10:00", None, None)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert parsed == datetime(yesterday.year, yesterday.month, yesterday.day, 10, tzinfo=UTC)
    assert TimeParam().convert("today", None, None).hour == 0


def test_demo_folder_tells_the_seed_story_today(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_demo_folder(tmp_path / "demo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["doctor", "demo/bundle/", "--client-cert", "demo/alice.pem"]) == 1
    out = capsys.readouterr().out
    assert "403.16 -> 200" in out and "403.17" not in out
    assert "cause::client-expired" not in out
    assert main(["audit", "demo/Root.sst"]) == 1
    out = capsys.readouterr().out
    assert out.count("Back up the Root store") == 1  # one fix for the three certificates
    assert out.count('Move-Item "$root\\') == 3
    assert "Fix for 3 certificate(s)" in out


def test_a_table_too_wide_becomes_a_list_and_bullets_keep_their_indent() -> None:
    stream = io.StringIO()
    console = out_console(stream)
    console.width = 40
    table = Table(title="Symptoms")
    for name in ("Count", "First", "Explained by"):
        table.add_column(name, overflow="fold")
    table.add_row(
        "1,204", "2024-03-05 10:02:00 logs/u_ex240305.log:8", "cause::root-not-self-signed"
    )
    console.print(table)
    console.print("   - " + "word " * 20)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Symptoms" and lines[1].startswith("- Count: 1,204")
    assert any("logs/u_ex240305.log:8" in line for line in lines)
    bullet = [line for line in lines if "word" in line]
    assert len(bullet) > 1 and all(line.startswith("     word") for line in bullet[1:])
    assert all(len(line) <= 40 for line in lines)


def test_a_table_that_fits_keeps_every_word_whole() -> None:
    stream = io.StringIO()
    console = out_console(stream)
    console.width = 60
    table = Table()
    table.add_column("When")
    table.add_column("Text")
    table.add_row("2024-03-05 10:02:00", "a long sentence of many words " * 3)
    console.print(table)
    text = stream.getvalue()
    assert "2024-03-05" in text and all(len(line) <= 60 for line in text.splitlines())


def test_pack_keeps_a_long_reference_whole_on_its_own_line() -> None:
    url = "https://learn.microsoft.com/" + "x" * 80
    lines = pack(["KB 2802568", url, "KB 942061"], 40, "  references: ", " · ")
    assert lines[0] == "  references: KB 2802568 ·"
    assert lines[1].strip() == url + " ·" and lines[2].strip() == "KB 942061"


def test_verify_purpose_server_speaks_of_a_server_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_demo_folder(tmp_path / "demo")
    monkeypatch.chdir(tmp_path)
    args = ["verify", "demo/server.pem", "--root", "demo/Root.sst", "--ca", "demo/CA.sst"]
    assert main([*args, "--purpose", "server"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Server certificate:") and "Client certificate" not in out
    assert "IIS " not in out and "windows engine not run" in out
    assert main([*args, "--purpose", "server", "--engine", "windows"]) == 2


def test_doctor_sample_client_accepted_says_it_once(
    pki: PKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = pki.root("CN=Good Root")
    alice = root.intermediate("CN=Good Issuing").client("CN=alice")
    root.write_pem(tmp_path / "root.pem")
    alice.write_pem(tmp_path / "alice.pem", chain=True)
    at = pki.now.isoformat()
    args = ["--root", str(tmp_path / "root.pem"), "--client-cert", str(tmp_path / "alice.pem")]
    assert main(["doctor", *args, "--at", at]) == 0
    out = capsys.readouterr().out
    assert "accepted: chain of" in out and "accepted: accepted:" not in out


def test_dash_is_standard_input_for_verify_explain_and_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_demo_folder(tmp_path / "demo")
    monkeypatch.chdir(tmp_path)

    def stdin(data: bytes) -> None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))

    stdin((tmp_path / "demo" / "alice.pem").read_bytes())
    assert main(["verify", "-", "--machine", "demo/bundle"]) == 1
    assert "403.16" in capsys.readouterr().out
    stdin(b"2148204809\n")
    assert main(["explain", "-"]) == 0
    assert "CERT_E_UNTRUSTEDROOT" in capsys.readouterr().out
    stdin((tmp_path / "demo" / "ticket.txt").read_bytes())
    assert main(["logs", "-"]) == 1
    assert "<stdin>" in capsys.readouterr().out
    stdin(b"")
    assert main(["explain", "-"]) == 2


def test_a_folder_counts_each_certificate_once(pki: PKI, tmp_path: Path) -> None:
    """/etc/ssl/certs: hash links to the files, and ca-certificates.crt repeating them all."""
    from certgate.formats import load_file

    one, two = pki.root("CN=One"), pki.root("CN=Two")
    one.write_pem(tmp_path / "One.pem")
    two.write_pem(tmp_path / "Two.pem")
    (tmp_path / "1a2b3c4d.0").symlink_to("One.pem")
    (tmp_path / "ca-certificates.crt").write_bytes(one.pem + two.pem)
    loaded = load_file(tmp_path)
    assert sorted(str(c.subject) for c in loaded.certificates) == ["CN=One", "CN=Two"]
    assert any("counted once" in w.message for w in loaded.warnings)


def test_probe_of_a_silent_server_is_a_timeout_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A server that accepts TCP and never answers: ``"error": {"code": "timeout"}``."""
    import json
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes the TCP handshake; nobody ever answers
        port = listener.getsockname()[1]
        code = main(["probe", f"127.0.0.1:{port}", "--timeout", "0.5", "--json"])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert document["error"]["code"] == "timeout"


@pytest.mark.parametrize("serial", [0, -5])
def test_cryptography_warnings_are_said_in_the_users_terms(pki: PKI, serial: int) -> None:
    from certgate.core.model import Certificate
    from certgate.testing import tampered

    issues = Certificate.from_der(tampered(pki.root("CN=R"), serial=serial)).parse_issues
    assert issues == (
        f"serial number {serial}, which RFC 5280 forbids (serials are positive); "
        "Windows and OpenSSL accept it, so it is audited as it is",
    )
    assert not any("future release" in issue for issue in issues)


def test_html_report_says_the_answer_once_and_fits_a_narrow_window(tmp_path: Path) -> None:
    write_demo_folder(tmp_path / "demo")
    report = tmp_path / "report.html"
    args = ["doctor", str(tmp_path / "demo" / "bundle"), "--html", str(report)]
    assert main([*args, "--client-cert", str(tmp_path / "demo" / "alice.pem")]) == 1
    page = report.read_text()
    assert page.count("this matches 1,204 HttpsClientCertificateInvalid") == 1
    assert "<th>Explained by</th>" in page and "cause::root-not-self-signed</td>" in page
    assert "unknown: " not in page and "Unknown, or Windows default assumed" in page
    assert page.count("<svg ") == page.count("viewBox=") and "svg{max-width:100%" in page
    assert "events per 5 minutes" in page and "class='count'" in page
