"""``certgate audit --machine``, ``machine show`` text output and ``certgate collect``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from certgate.cli import main
from certgate.testing import PKI, sst_bundle
from certgate.testing.listings import format_list
from certgate.testing.windows import BundleSpec, schannel_reg, write_bundle, zip_folder


def _bundle(pki: PKI, tmp_path: Path) -> tuple[Path, str, str]:
    root = pki.root("Contoso Root CA")
    issuing = root.intermediate("Contoso Issuing CA")
    spec = BundleSpec().add("stores/CA.sst", sst_bundle([issuing]))
    spec.add("stores/Root.txt", format_list([root.certificate, issuing.certificate]))
    spec.add("schannel.reg", schannel_reg(trust_mode=0))
    return (
        zip_folder(write_bundle(tmp_path / "b", spec), tmp_path / "b.zip"),
        root.sha1,
        issuing.sha1,
    )


def test_audit_machine_judges_listed_certificates(
    pki: PKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, _, issuing = _bundle(pki, tmp_path)
    code = main(["audit", "--machine", str(bundle), "--json", "--at", "2026-06-01"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["schema"] == "certgate.audit/1"
    (finding,) = [f for f in doc["findings"] if f["id"] == "root::not-self-signed"]
    assert finding["certificate"] == {
        "sha1": issuing,
        "subject": "CN=Contoso Issuing CA, O=certgate tests",
        "issuer": "CN=Contoso Root CA, O=certgate tests",
        "listed": True,
    }
    assert finding["evidence"][0].startswith("by names only")
    assert [c["sha1"] for c in doc["listed_certificates"]][1] == issuing
    assert any(u.startswith("Root store: known only from a listing") for u in doc["unknowns"])


def test_audit_machine_negative_control(
    pki: PKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = pki.root("Clean Root")
    spec = BundleSpec().add("stores/Root.sst", sst_bundle([root]))
    bundle = write_bundle(tmp_path / "clean", spec)
    assert main(["audit", "--machine", str(bundle), "--at", "2026-06-01"]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "Unknown, or Windows default assumed" in out


def test_audit_machine_plus_paths_and_old_usage(
    pki: PKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, _, _ = _bundle(pki, tmp_path)
    extra = pki.root("Extra Root")
    extra.write_pem(tmp_path / "extra.pem")
    code = main(["audit", "--machine", str(bundle), str(tmp_path / "extra.pem"), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {s["name"]: s["count"] for s in doc["stores"]} == {"CA": 1, "Root": 1}
    assert main(["audit"]) == 2  # still needs something to audit
    assert "--machine" in capsys.readouterr().err


def test_audit_machine_with_malformed_part_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = BundleSpec().add("schannel.reg", "not a registry file")
    bundle = write_bundle(tmp_path / "bad", spec)
    assert main(["audit", "--machine", str(bundle)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "schannel.reg: not a .reg export" in err and "line 1" in err


def test_machine_show_text(
    pki: PKI, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    bundle, _, issuing = _bundle(pki, tmp_path)
    assert main(["machine", "show", str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "ClientAuthTrustMode" in out and "schannel.reg:4" in out
    assert "Listed certificates" in out and issuing[:12] in out
    assert "  - HTTP.sys SSL bindings: not exported (netsh http show sslcert); HTTP.sys" in out


def test_collect_out_refuses_off_windows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if sys.platform == "win32":  # pragma: no cover
        pytest.skip("this checks the non-Windows refusal")
    assert main(["collect", "--out", str(tmp_path / "b.zip")]) == 2
    err = capsys.readouterr().err
    assert "only runs on Windows" in err and "--powershell" in err
    assert not (tmp_path / "b.zip").exists()


def test_collect_powershell_prints_the_shipped_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--powershell"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<#") and "CreateFromDirectory" in out


@pytest.mark.parametrize(
    ("name", "needles"),
    [
        ("wcf", ["System.ServiceModel", "XmlWriterTraceListener", 'switchValue="Off"', "262159"]),
        ("systemnet", ["System.Net.HttpListener", "TextWriterTraceListener", "Verbose"]),
        ("schannel", ["/v EventLogging /t REG_DWORD /d 7", "/d 1 /f", "reboot", "36885"]),
        ("capi2", ["wevtutil sl Microsoft-Windows-CAPI2/Operational /e:true", "/e:false"]),
    ],
)
def test_tracing_recipes(name: str, needles: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--tracing", name]) == 0
    out = capsys.readouterr().out
    for heading in ("Switch it on", "Where the output lands", "Switch it off"):
        assert heading in out
    for needle in needles:
        assert needle in out
    assert "certgate logs" in out


def test_collect_needs_exactly_one_action(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect"]) == 2
    assert main(["collect", "--powershell", "--tracing", "wcf"]) == 2
    assert main(["collect", "--tracing", "etw"]) == 2
