"""``certgate verify`` end to end, on the demo machine bundle and on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from certgate.cli import main
from certgate.demo import DemoMachine, build_demo_machine
from certgate.testing import PKI


@pytest.fixture
def demo(tmp_path: Path, pki: PKI) -> DemoMachine:
    return build_demo_machine(tmp_path, pki)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["verify", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def base(demo: DemoMachine) -> list[str]:
    return [
        str(demo.client),
        "--chain",
        str(demo.chain),
        "--machine",
        str(demo.folder),
        "--at",
        "2026-06-01T12:00Z",
    ]


def test_demo_machine_403_16_then_accepted_under_trust_mode_2(
    demo: DemoMachine, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's acceptance case: 403.16 under mode 0, accepted with --what-if trust-mode=2."""
    code, out, _ = run(capsys, *base(demo), "--what-if", "trust-mode=2", "--json")
    assert code == 1
    document = json.loads(out)
    assert document["schema"] == "certgate.verify/1"
    windows = document["engines"]["windows"]
    assert (windows["verdict"], windows["code"], windows["iis_status"]) == (
        "reject",
        "CERT_E_UNTRUSTEDROOT",
        "403.16",
    )
    assert (windows["hresult"], windows["win32_status"], windows["wcf_native"]) == (
        "0x800B0109",
        2148204809,
        "0x109",
    )
    assert document["engines"]["openssl"]["verdict"] == "accept"
    assert document["engines"]["rfc5280"]["verdict"] == "accept"
    [what_if] = document["what_if"]
    assert what_if["change"] == "trust-mode=2"
    assert (what_if["before"]["short"], what_if["after"]["short"]) == ("403.16", "200")
    assert any(c["confidence"] == "inferred" for c in windows["caveats"])
    assert {p["engine"] for p in document["paths"]} == {"windows", "rfc5280"}
    assert all(len(sha1) == 40 for sha1 in windows["path"])


@pytest.mark.parametrize("spelling", [":Root:CA", ":Root->CA", ":Root -> CA"])
def test_demo_text_output_and_move_fix(
    demo: DemoMachine, capsys: pytest.CaptureFixture[str], spelling: str
) -> None:
    """The shell-safe ``sha1:Root:CA`` (what certgate prints) and the quoted arrow form."""
    code, out, _ = run(capsys, *base(demo), "--what-if", f"move={demo.misplaced_sha1}{spelling}")
    assert code == 1
    assert "403.16" in out and "0x800B0109" in out and "0x109" in out
    assert "[inferred]" in out
    assert "FAIL trusted-issuer-list" in out
    assert "200 (S_OK)" in out  # after moving the intermediate out of Root
    assert "403.16 -> 200" in out


def test_demo_mode_2_on_the_command_line_accepts(
    demo: DemoMachine, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, *base(demo), "--trust-mode", "2", "--engine", "windows", "--json")
    assert code == 0
    assert json.loads(out)["engines"]["windows"]["iis_status"] == "200"


def test_send_issuer_list_gives_403_7(
    demo: DemoMachine, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, *base(demo), "--send-issuer-list", "--engine", "windows", "--json")
    assert code == 1
    assert json.loads(out)["engines"]["windows"]["iis_status"] == "403.7"


def test_crl_file_and_explicit_stores(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    root = pki.root("Root")
    inter = root.intermediate("Issuing")
    leaf = inter.client("alice")
    root.write_pem(tmp_path / "root.pem")
    inter.write_pem(tmp_path / "ca.pem")
    leaf.write_pem(tmp_path / "leaf.pem")
    from cryptography.hazmat.primitives import serialization

    (tmp_path / "revoked.crl").write_bytes(
        inter.crl([leaf]).public_bytes(serialization.Encoding.PEM)
    )
    args = [
        str(tmp_path / "leaf.pem"),
        "--root",
        str(tmp_path / "root.pem"),
        "--ca",
        str(tmp_path / "ca.pem"),
        "--at",
        "2026-06-01T12:00Z",
        "--json",
    ]
    code, out, _ = run(capsys, *args)
    assert code == 0 and json.loads(out)["verdict"] == "accept"
    code, out, _ = run(capsys, *args, "--crl", str(tmp_path / "revoked.crl"))
    engines = json.loads(out)["engines"]
    assert code == 1
    assert (
        engines["windows"]["iis_status"],
        engines["openssl"]["code"],
        engines["rfc5280"]["code"],
    ) == (
        "403.13",
        "X509_V_ERR_CERT_REVOKED",
        "revoked",
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--what-if", "trust-mode=7"], "trust-mode must be 0, 1 or 2"),
        (["--what-if", "bogus=1"], "expected KEY=VALUE"),
        (["--what-if", "move=" + "AB" * 20 + ":Root->CA"], "no certificate with thumbprint"),
        (["--crl", "missing.crl"], "missing.crl"),
    ],
)
def test_bad_input_exits_2(
    demo: DemoMachine, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code, out, err = run(capsys, *base(demo), *extra)
    assert code == 2
    assert message in " ".join((out + err).split())  # rich may wrap long lines


def test_missing_certificate_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, str(tmp_path / "nope.pem"))
    assert code == 2 and "nope.pem" in err
