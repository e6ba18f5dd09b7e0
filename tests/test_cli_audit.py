"""``certgate audit`` from the command line: output, JSON contract, exit codes, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from certgate.cli import main
from certgate.report.jsonout import dump_streamed
from certgate.testing import PKI, KeyType, pem_bundle, sst_bundle


@pytest.fixture
def store(tmp_path: Path, pki: PKI) -> tuple[Path, str]:
    root = pki.root("CN=Contoso Root CA,O=Contoso")
    inter = root.intermediate("CN=Contoso Issuing CA,O=Contoso")
    path = tmp_path / "Root.sst"
    path.write_bytes(sst_bundle([(root, "Contoso Root"), (inter, "Contoso Issuing")]))
    return path, inter.sha1


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_names_the_cause_and_the_fix(
    store: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, sha1 = store
    code, out, _ = run(["audit", str(path), "--at", "2026-06-01"], capsys)
    assert code == 1
    assert "root::not-self-signed" in out
    assert f'Move-Item "$root\\{sha1}" $ca' in out
    assert "$root = 'Cert:\\LocalMachine\\Root'; $ca = 'Cert:\\LocalMachine\\CA'" in out
    assert "ClientAuthTrustMode=2" in out
    assert out.strip().splitlines()[-1].startswith("FAIL: 1 error(s)")


def test_json_contract(store: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, sha1 = store
    code, out, _ = run(["audit", str(path), "--json", "--at", "2026-06-01T12:00:00Z"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["schema"] == "certgate.audit/1"
    assert doc["at"] == "2026-06-01T12:00:00Z"
    cert_keys = {
        "sha1",
        "sha256",
        "subject",
        "issuer",
        "self_signed",
        "ca",
        "not_before",
        "not_after",
        "source",
        "friendly_name",
    }
    for cert in doc["certificates"]:
        assert cert_keys <= set(cert)
    assert [c["friendly_name"] for c in doc["certificates"]] == ["Contoso Root", "Contoso Issuing"]
    assert [c["self_signed"] for c in doc["certificates"]] == [True, False]
    (finding,) = doc["findings"]
    assert set(finding) >= {"id", "severity", "certificate", "message", "references", "fix"}
    assert finding["id"] == "root::not-self-signed"
    assert finding["certificate"] == {
        "sha1": sha1,
        "subject": "CN=Contoso Issuing CA, O=Contoso",
        "issuer": "CN=Contoso Root CA, O=Contoso",
    }
    assert doc["summary"]["verdict"] == "fail"


def test_fail_on_thresholds(tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "roots.pem"
    path.write_bytes(pem_bundle([pki.root("Old", expired=True), pki.root("New")]))
    assert run(["audit", str(path)], capsys)[0] == 0  # only a warning
    assert run(["audit", str(path), "--fail-on", "warning"], capsys)[0] == 1
    assert run(["audit", str(path), "--fail-on", "never", "--json"], capsys)[0] == 0


def test_add_other_stores(tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]) -> None:
    root = pki.root("Root")
    roots = tmp_path / "roots.pem"
    roots.write_bytes(root.pem)
    bad = tmp_path / "bad.pem"
    bad.write_bytes(root.pem)
    code, out, _ = run(["audit", str(roots), "--add", f"Disallowed={bad}", "--json"], capsys)
    assert code == 1
    assert [f["id"] for f in json.loads(out)["findings"]] == ["store::also-disallowed"]
    code, _, err = run(["audit", str(roots), "--add", "nonsense"], capsys)
    assert code == 2 and "STORE=PATH" in err


def test_system_store(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["audit", "--system", "--json", "--fail-on", "never"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["stores"][0]["name"] == "Root" and doc["stores"][0]["count"] > 50
    assert not [f for f in doc["findings"] if f["id"] == "root::not-self-signed"]


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["audit"], capsys)[0] == 2
    assert run(["audit", "x.pem", "--at", "yesterday-ish"], capsys)[0] == 2
    assert run(["audit", "x.pem", "--store", "a/b"], capsys)[0] == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty.bin: file is empty"),
        (b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "broken base64"),
    ],
)
def test_bad_file_is_one_line_exit_2_without_traceback(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(content)
    proc = subprocess.run(
        [sys.executable, "-m", "certgate", "audit", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0]
    assert "Traceback" not in proc.stderr
    verbose = subprocess.run(
        [sys.executable, "-m", "certgate", "-v", "audit", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verbose.returncode == 2 and "Traceback" in verbose.stderr


def test_200_megabytes_of_random_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "random.bin"
    with path.open("wb") as handle:
        for _ in range(200):
            chunk = bytearray(os.urandom(1 << 20))
            chunk[0] = 0x42  # not a DER SEQUENCE or SST magic at the start
            handle.write(chunk)
    code, _, err = run(["audit", str(path)], capsys)
    assert code == 2
    assert "not a certificate file" in err


def test_wrong_pfx_password(tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "client.pfx"
    path.write_bytes(pki.root("Root").client("alice", key=KeyType.P256).pfx(b"right"))
    code, _, err = run(["audit", str(path), "--store", "My", "--password", "wrong"], capsys)
    assert code == 2 and "wrong password" in err
    code, out, _ = run(
        ["audit", str(path), "--store", "My", "--password", "right", "--json"], capsys
    )
    assert code == 0
    assert [c["store"] for c in json.loads(out)["certificates"]] == ["My", "My"]


def test_one_bad_file_among_many(
    tmp_path: Path, store: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = store
    broken = tmp_path / "broken.sst"
    broken.write_bytes(path.read_bytes()[:100])
    code, out, err = run(["audit", str(path), str(broken)], capsys)
    assert code == 1
    assert "broken.sst: skipped:" in err
    assert "root::not-self-signed" in out


def test_console_table_summarises_a_rule_with_many_findings(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table shows the first rows of each rule and counts the rest; --all shows every row;
    the JSON always has every finding."""
    monkeypatch.setenv("COLUMNS", "400")  # one table row per line, whatever runs the tests
    root = pki.root("CN=Many Root")
    inters = [root.intermediate(f"CN=Misplaced {n:02d}") for n in range(12)]
    path = tmp_path / "Root.pem"
    path.write_bytes(pem_bundle([root, *inters]))
    args = ["audit", str(path), "--at", "2026-06-01", "--fail-on", "never"]
    _, out, _ = run(args, capsys)
    assert "... and 2 more like this" in out
    _, every, _ = run([*args, "--all"], capsys)
    assert "more like this" not in every
    assert all(f"Misplaced {n:02d}" in every for n in range(12))
    _, text, _ = run([*args, "--json"], capsys)
    rules = [f["id"] for f in json.loads(text)["findings"]]
    assert rules.count("root::not-self-signed") == 12


@pytest.mark.parametrize("rows", [0, 1, 3])
def test_streamed_json_is_the_same_document(rows: int) -> None:
    document = {"schema": "certgate.test/1", "a": [1, "\u202e"], "rows": [], "z": {"k": None}}
    items = [{"n": n, "text": "x\u0085y"} for n in range(rows)]
    pieces: list[str] = []
    dump_streamed(document, "rows", iter(items), pieces.append)
    text = "".join(pieces)
    assert json.loads(text) == {**document, "rows": items}
    assert "\u202e" not in text and "\u0085" not in text  # escaped as dumps escapes them
    assert list(json.loads(text)) == ["schema", "a", "rows", "z"]
