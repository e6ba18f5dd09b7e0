"""The machine's Windows version (docs/windows-model.md#os-version): parsing, where it comes
from (manifest.json, settings.toml, --os-version), and end-to-end ``certgate verify`` cases of
docs/windows-fidelity.md that need a machine bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certgate.cli import main
from certgate.core.stores import Machine
from certgate.core.winver import KNOWN_NAMES, parse_windows_version
from certgate.errors import InputError
from certgate.formats.sst import dump_sst
from certgate.inputs.bundle import load_machine
from certgate.inputs.settings import apply_settings
from certgate.testing import CLIENT_AUTH, PKI, pem_bundle


@pytest.mark.parametrize(
    ("text", "name", "kb2880390"),
    [
        ("2012", "2012", True),
        ("Windows Server 2012 R2 Standard", "2012r2", False),
        ("Microsoft Windows NT 6.2.9200.0", "6.2.9200", True),  # PowerShell OSVersion
        ("Windows-10-10.0.17763-SP0", "10.0.17763", False),  # Python platform.platform()
        ("Windows-2012Server-6.2.9200-SP0", "6.2.9200", True),
        ("win10", "win10", False),
        ("2019", "2019", False),
    ],
)
def test_versions_certgate_reads(text: str, name: str, kb2880390: bool) -> None:
    version = parse_windows_version(text)
    assert (version.name, version.has_kb2880390) == (name, kb2880390)


@pytest.mark.parametrize("text", ["", "banana", "5.1.2600", "2003", "x" * 300])
def test_what_is_not_a_version(text: str) -> None:
    with pytest.raises(ValueError, match="known names"):
        parse_windows_version(text)


@given(st.text(max_size=80))
def test_any_text_parses_or_is_refused(text: str) -> None:
    try:
        version = parse_windows_version(text)
    except ValueError:
        return
    assert version.nt in {(6, 1), (6, 2), (6, 3), (10, 0)}


def test_every_known_name_parses() -> None:
    assert all(parse_windows_version(n).name == n for n in KNOWN_NAMES)


def test_settings_toml_sets_the_version_and_refuses_nonsense() -> None:
    machine = apply_settings('[machine]\nos_version = "2012"\n', "settings.toml", Machine())
    assert machine.os_version.value is not None and machine.os_version.value.has_kb2880390
    assert machine.os_version.source == "settings.toml [machine]"
    with pytest.raises(InputError, match="os_version"):
        apply_settings('[machine]\nos_version = "OS/2"\n', "settings.toml", Machine())
    with pytest.raises(InputError, match="unknown key"):
        apply_settings("[machine]\nbuild = 1\n", "settings.toml", Machine())


def test_manifest_gives_the_version_and_settings_win(tmp_path: Path, pki: PKI) -> None:
    root = pki.root("CN=Root")
    (tmp_path / "Root.pem").write_bytes(root.pem)
    (tmp_path / "manifest.json").write_text(
        json.dumps({"collector": "certgate (powershell)", "os": "Microsoft Windows NT 6.2.9200.0"})
    )
    machine = load_machine(tmp_path).machine
    assert machine.os_version.value is not None and machine.os_version.value.nt == (6, 2)
    (tmp_path / "settings.toml").write_text('[machine]\nos_version = "2019"\n')
    machine = load_machine(tmp_path).machine
    assert machine.os_version.value is not None and machine.os_version.value.name == "2019"


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["verify", *args, "--engine", "windows", "--json", "--at", "2026-06-01T12:00Z"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def test_verify_self_signed_client_in_root_accepts(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    """`certgate verify` on a self-signed client certificate placed in Root (clean Root, mode 0)
    accepts: Microsoft documents this set-up for SSIS Scale Out
    (learn.microsoft.com deal-with-certificates-in-ssis-scale-out)."""
    worker = pki.issue("CN=SSIS Worker", issuer=None, eku=(CLIENT_AUTH,))
    other = pki.root("CN=Other Root")
    (tmp_path / "worker.pem").write_bytes(worker.pem)
    (tmp_path / "roots.pem").write_bytes(pem_bundle([other, worker]))
    code, document = _verify(
        capsys, str(tmp_path / "worker.pem"), "--root", str(tmp_path / "roots.pem")
    )
    assert code == 0
    engines = document["engines"]
    assert isinstance(engines, dict) and engines["windows"]["verdict"] == "accept"


def test_verify_with_an_empty_ctl_store_uses_client_auth_issuer(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    """Schannel overview: an empty application-defined (CTL) store falls through to
    ClientAuthIssuer, then Root. The bundle names an empty SiteTrust store on the binding."""
    root = pki.root("CN=Contoso Root")
    issuing = root.intermediate("CN=Contoso Issuing")
    misplaced = root.intermediate("CN=Contoso Misplaced")
    alice = issuing.client("alice")
    bundle = tmp_path / "bundle"
    (bundle / "stores").mkdir(parents=True)
    (bundle / "stores" / "Root.pem").write_bytes(pem_bundle([root, misplaced]))
    (bundle / "stores" / "CA.pem").write_bytes(issuing.pem)
    (bundle / "stores" / "ClientAuthIssuer.pem").write_bytes(root.pem)
    (bundle / "stores" / "SiteTrust.sst").write_bytes(dump_sst([]))
    (bundle / "settings.toml").write_text('[binding]\nctl_store_name = "SiteTrust"\n')
    (tmp_path / "alice.pem").write_bytes(alice.pem)
    code, document = _verify(capsys, str(tmp_path / "alice.pem"), "--machine", str(bundle))
    assert code == 0, document
    (bundle / "stores" / "ClientAuthIssuer.pem").unlink()
    code, document = _verify(capsys, str(tmp_path / "alice.pem"), "--machine", str(bundle))
    engines = document["engines"]
    assert code == 1 and isinstance(engines, dict)
    assert engines["windows"]["code"] == "CERT_E_UNTRUSTEDROOT"  # Root (mixed) is the source


def test_verify_refuses_an_unknown_os_version(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    root = pki.root("CN=Root")
    (tmp_path / "c.pem").write_bytes(root.client("c").pem)
    (tmp_path / "r.pem").write_bytes(root.pem)
    code = main(
        [
            "verify",
            str(tmp_path / "c.pem"),
            "--root",
            str(tmp_path / "r.pem"),
            "--os-version",
            "OS/2",
        ]
    )
    assert code == 2
    assert "--os-version" in capsys.readouterr().err


def test_doctor_takes_the_os_version(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    """KB 2880390 is Server 2012 only: the doctor's 16 KB cause follows --os-version."""
    fillers = [pki.root(f"CN=Filler {i:02d},OU={'x' * 900},O=Filler") for i in range(20)]
    (tmp_path / "Root.pem").write_bytes(pem_bundle(fillers))
    args = ["doctor", "--root", str(tmp_path / "Root.pem"), "--json"]
    causes = {}
    for version in ("2012", "2019"):
        main([*args, "--os-version", version])
        document = json.loads(capsys.readouterr().out)
        causes[version] = {c["id"] for c in document["causes"]}
    assert "cause::issuer-list-too-large" in causes["2012"]
    assert "cause::issuer-list-too-large" not in causes["2019"]
    assert main([*args, "--os-version", "NT 3.51"]) == 2
