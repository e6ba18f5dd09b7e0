"""``certgate serve`` as a process: start, answer, stop on SIGTERM; bad flags exit 2."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from certgate.cli import main
from certgate.testing import PKI
from gate_support import curl, write_client


def test_serve_process_answers_and_stops_on_sigterm(pki: PKI, tmp_path: Path) -> None:
    root = pki.root("CN=Root")
    client = write_client(root.client("CN=alice", expired=True), tmp_path)
    root.write_pem(tmp_path / "root.pem")
    policy = tmp_path / "gate.toml"
    policy.write_text('[trust.stores]\nRoot = ["root.pem"]\n[logs]\nw3c_dir = "logs"\n')
    command = [sys.executable, "-m", "certgate", "serve", "--policy", str(policy)]
    command += ["--listen", "127.0.0.1:0", "--throwaway-cert"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # blocks until the gate listens (or exits)
        match = re.search(r"listening on (https://127\.0\.0\.1:\d+)", line)
        assert match, line
        status, headers, _ = curl(match.group(1) + "/", cert=client)
        assert (status, headers["certgate-status"]) == (403, "403.17")  # real clock: expired
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    log = next((tmp_path / "logs").glob("u_ex*.log")).read_text()
    assert " 403 17 2148204801 " in log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "nowhere"], "--listen must be HOST:PORT"),
        ([], "give the server's --cert and --key"),
        (["--throwaway-cert", "--cert", "x.pem"], "exclude each other"),
        (["--throwaway-cert", "--upstream", "ftp://x"], "--upstream must be an http:// URL"),
        (["--throwaway-cert", "--app", "nomodule_xyz:app"], "cannot import nomodule_xyz"),
        (["--throwaway-cert", "--upstream", "http://a", "--app", "m:a"], "exclude each other"),
        (["--cert", "missing.pem", "--key", "missing.key"], "missing.pem: not a PEM certificate"),
        (["--cert", "a.pem", "--key", "b.key"], "b.key: is not the private key of the certificate"),
    ],
)
def test_bad_flags(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    policy = tmp_path / "gate.toml"
    policy.write_text("")
    pki = PKI()
    pki.root("CN=a").write_pem(tmp_path / "a.pem")
    pki.root("CN=b").write_key(tmp_path / "b.key")
    monkeypatch.chdir(tmp_path)
    assert main(["serve", "--policy", str(policy), *args]) == 2
    assert message in capsys.readouterr().err


def test_help_examples_have_no_stray_spaces(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    text = capsys.readouterr().out
    examples = text.split("Examples:", 1)[1].split("Options:", 1)[0]
    assert "certgate serve --policy gate.toml --check" in examples
    assert not re.search(r"\S {2,}\S", examples), examples


def test_demo_module_help_and_bad_usage() -> None:
    command = [sys.executable, "-m", "certgate.demo.live"]
    shown = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    bad = subprocess.run(
        [*command, "nope"], capture_output=True, text=True, timeout=60, check=False
    )
    assert shown.returncode == 0 and shown.stdout.startswith("usage: python -m certgate.demo.live")
    assert bad.returncode == 2 and "the fix must be one of move, trust-mode" in bad.stderr
    assert "Traceback" not in shown.stderr + bad.stderr


def test_app_is_imported_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from certgate.gate.backends import load_wsgi_app

    (tmp_path / "certgate_cwd_app.py").write_text(
        "def application(environ, start_response):\n    return [b'ok']\n"
    )
    (tmp_path / "certgate_broken_app.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    assert callable(load_wsgi_app("certgate_cwd_app:application"))
    from certgate.errors import UsageError

    with pytest.raises(UsageError, match="cannot import certgate_broken_app: boom"):
        load_wsgi_app("certgate_broken_app:application")
