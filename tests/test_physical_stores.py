"""Physical stores: the bundle part, older bundles ("origin unknown"), and the doctor's fix for
a certificate that Group Policy or Active Directory delivers to Root."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import doctor_scenarios as sc
from certgate.cli import main
from certgate.core.physical import PhysicalStore, PhysicalStores
from certgate.errors import InputError
from certgate.formats.physical import dump_physical_stores, parse_physical_stores
from certgate.inputs.bundle import load_machine
from certgate.testing import PKI
from test_doctor_scripts import ps_errors


def physical_json(*entries: tuple[str, str, list[str]]) -> bytes:
    return json.dumps(
        {
            "schema": "certgate.physical-stores/1",
            "stores": ["Root", "CA", "ClientAuthIssuer"],
            "certificates": [{"store": s, "thumbprint": t, "physical": p} for s, t, p in entries],
        }
    ).encode()


def seed(pki: PKI, *physical: str) -> sc.Server:
    server = sc.seed_like(pki)
    if physical:
        entries = [("Root", server.root.sha1, ["registry"])]
        entries += [("Root", c.sha1, list(physical)) for c in server.misplaced]
        server.extra["physical-stores.json"] = physical_json(*entries)
    return server


def run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: sc.Server, now: datetime
) -> tuple[int, dict[str, Any], Path]:
    bundle, client = server.write(tmp_path)
    fixes = tmp_path / "fixes"
    code = main(
        [
            "doctor",
            str(bundle),
            "--client-cert",
            str(client),
            "--at",
            now.isoformat(),
            "--json",
            "--fix-dir",
            str(fixes),
        ]
    )
    return code, json.loads(capsys.readouterr().out), fixes


def test_group_policy_certificate_gets_the_gpo_fix_not_the_move_script(
    pki: PKI, now: datetime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = seed(pki, "group-policy")
    code, document, fixes = run(capsys, tmp_path, server, now)
    assert code == 1
    top = document["causes"][0]
    assert top["id"] == "cause::root-not-self-signed"
    assert [f["id"] for f in top["fixes"]] == ["gpo-move-to-intermediate", "trust-mode-2"]
    gpo = top["fixes"][0]
    assert gpo["preferred"]
    (action,) = gpo["actions"]
    assert action["type"] == "change-group-policy"
    assert action["certificates"][0]["sha1"] == server.misplaced[0].sha1
    assert action["gpo_paths"][0].endswith(
        "Public Key Policies / Trusted Root Certification Authorities"
    )
    assert top["what_if"][0]["cause_gone"]
    assert "physical store: group-policy" in top["evidence"][0]["text"]
    folder = next(fixes.glob("1-*/A-gpo-move-to-intermediate"))
    script = (folder / "gpo-move-root-to-ca.ps1").read_text("utf-8-sig")
    assert ps_errors(script) == []
    assert "Get-GPRegistryValue" in script and "Backup-GPO" in script
    assert server.misplaced[0].sha1 in script
    readme = (folder / "README.md").read_text()
    assert "Trusted Root Certification Authorities" in readme and "gpupdate" in readme
    assert not list(fixes.glob("*/*move-to-intermediate/move-root-to-ca.ps1"))


def test_negative_control_local_certificate_keeps_the_move_script(
    pki: PKI, now: datetime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document, fixes = run(capsys, tmp_path, seed(pki, "registry"), now)
    top = document["causes"][0]
    assert [f["id"] for f in top["fixes"]] == ["move-to-intermediate", "trust-mode-2"]
    assert "physical store: registry" in top["evidence"][0]["text"]
    assert list(fixes.glob("1-*/A-move-to-intermediate/move-root-to-ca.ps1"))


def test_in_both_gpo_and_local_store_the_gpo_fix_moves_the_local_copy_too(
    pki: PKI, now: datetime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document, fixes = run(capsys, tmp_path, seed(pki, "registry", "group-policy"), now)
    gpo = document["causes"][0]["fixes"][0]
    assert [a["type"] for a in gpo["actions"]] == ["change-group-policy", "move-certificates"]
    folder = next(fixes.glob("1-*/A-gpo-move-to-intermediate"))
    assert {p.name for p in folder.glob("*.ps1")} == {
        "gpo-move-root-to-ca.ps1",
        "move-root-to-ca.ps1",
    }


def test_enterprise_certificate_gets_active_directory_steps(
    pki: PKI, now: datetime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document, _ = run(capsys, tmp_path, seed(pki, "enterprise"), now)
    fix = document["causes"][0]["fixes"][0]
    assert fix["id"] == "enterprise-move-to-intermediate"
    assert "certutil -dspublish" in fix["actions"][0]["text"]


def test_older_bundle_loads_with_origin_unknown(
    pki: PKI, now: datetime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, fixes = run(capsys, tmp_path, seed(pki), now)
    assert code == 1
    top = document["causes"][0]
    assert "physical store: origin unknown" in top["evidence"][0]["text"]
    move = top["fixes"][0]
    assert move["id"] == "move-to-intermediate"
    assert any("origin unknown" in note for note in move["notes"])
    script = next(fixes.glob("1-*/A-move-to-intermediate/move-root-to-ca.ps1"))
    text = script.read_text("utf-8-sig")
    assert "Policies\\Microsoft\\SystemCertificates\\Root" in text  # refuses GPO-fed ones


def test_round_trip_and_unknown_store() -> None:
    sha1 = "AB" * 20
    stores = PhysicalStores.build(
        ["root", "CA"], [("Root", sha1.lower(), [PhysicalStore.GROUP_POLICY])]
    )
    again = parse_physical_stores(dump_physical_stores(stores), "p.json")
    assert again.entries == stores.entries and again.stores == ("Root", "CA")
    assert again.origin("Root", sha1).from_group_policy
    assert again.origin("CA", sha1).label() == "in no physical store recorded"
    assert again.origin("ClientAuthIssuer", sha1).label() == "origin unknown"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"schema": "certgate.physical-stores/2"}, "is not 'certgate.physical-stores/1'"),
        (
            {"schema": "certgate.physical-stores/1", "stores": ["Root"], "certificates": [{}]},
            "certificates[0].store must be a string",
        ),
        (
            {
                "schema": "certgate.physical-stores/1",
                "stores": ["Root"],
                "certificates": [{"store": "Root", "thumbprint": "XY", "physical": []}],
            },
            "is not 40 hex digits",
        ),
        (
            {
                "schema": "certgate.physical-stores/1",
                "stores": ["Root"],
                "certificates": [{"store": "Root", "thumbprint": "A" * 40, "physical": ["gpo"]}],
            },
            "'gpo' is not one of",
        ),
    ],
)
def test_bad_part_is_refused_naming_the_file(
    document: dict[str, Any], message: str, tmp_path: Path
) -> None:
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "physical-stores.json").write_text(json.dumps(document))
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_machine(folder)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_fuzz_parser_only_raises_input_error(data: bytes) -> None:
    with contextlib.suppress(InputError):
        parse_physical_stores(data, "physical-stores.json")
