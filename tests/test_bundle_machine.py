"""Machine bundles: folders and zips in the documented layout, through ``load_machine`` and
``certgate machine show``; missing parts reported as unknown, malformed parts named."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.cli import main
from certgate.core.iis import (
    IisCertificateMapping,
    LocationConfig,
    OneToOneMapping,
    Site,
    SiteBinding,
)
from certgate.core.settings import Setting, SslBinding
from certgate.errors import InputError
from certgate.inputs._files import list_bundle
from certgate.inputs.bundle import classify, load_machine
from certgate.testing import PKI, Issued, sst_bundle
from certgate.testing.listings import format_list
from certgate.testing.windows import (
    IIS_APP_ID,
    BundleSpec,
    application_host_config,
    netsh_sslcert,
    schannel_reg,
    sslbinding_reg,
    write_bundle,
    zip_folder,
)

BINDING = SslBinding(
    endpoint="0.0.0.0:443",
    cert_hash="40DB5BB1BF5659A155258D1D007C530FCB8996C2",
    app_id=IIS_APP_ID,
    ctl_store_name=Setting("ClientAuthIssuer"),
    flags=Setting(2),
)
SITE = Site("Default Web Site", "1", (SiteBinding("https", "*:443:", Setting(0, "x")),))
API = LocationConfig(
    "Default Web Site/api",
    "",
    "",
    access_ssl_flags=Setting(0x68, "x"),
    iis_mapping=IisCertificateMapping(
        Setting(True, "x"), one_to_one=(OneToOneMapping("QUJD", "alice", True, True),)
    ),
)


def _seed(pki: PKI) -> tuple[Issued, Issued, BundleSpec]:
    root = pki.root("Contoso Root CA")
    issuing = root.intermediate("Contoso Issuing CA")
    spec = BundleSpec()
    spec.add("stores/Root.sst", sst_bundle([(root, "Contoso Root"), issuing]))
    spec.add("stores/CA.sst", sst_bundle([issuing]))
    spec.add("stores/ClientAuthIssuer.sst", sst_bundle([issuing]))
    spec.add("stores/Disallowed.sst", sst_bundle([]))
    spec.add("schannel.reg", schannel_reg(trust_mode=0, misspelled_send_issuers=1))
    spec.add("netsh-sslcert.txt", netsh_sslcert([BINDING]))
    spec.add("applicationHost.config", application_host_config([SITE], [API]))
    spec.add("logs/W3SVC1/u_ex260601.log", "#Fields: date time sc-status\r\n")
    return root, issuing, spec


def _show(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["machine", "show", str(path), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_bundle_round_trips_through_machine_show(
    pki: PKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, issuing, spec = _seed(pki)
    code, doc = _show(write_bundle(tmp_path / "b", spec), capsys)
    assert code == 0 and doc["schema"] == "certgate.machine/1" and doc["format"] == "folder"
    schannel = doc["schannel"]
    assert schannel["client_auth_trust_mode"] == {"value": 0, "source": "schannel.reg:4"}
    assert schannel["send_trusted_issuer_list"] == {"value": False, "source": "default"}
    assert schannel["misspelled"] == [{"name": "SendTrustedIssuers", "source": "schannel.reg:5"}]
    (binding,) = doc["bindings"]
    assert binding["ctl_store_name"] == {
        "value": "ClientAuthIssuer",
        "source": "netsh-sslcert.txt:15",
    }
    assert binding["negotiates_client_cert"] is True and binding["checks_revocation"] is True
    assert doc["bindings_source"] == "netsh-sslcert.txt"
    assert {s["name"]: s["count"] for s in doc["stores"]} == {
        "Root": 2,
        "CA": 1,
        "ClientAuthIssuer": 1,
        "Disallowed": 0,
    }
    friendly = {c["sha1"]: c["friendly_name"] for c in doc["certificates"] if c["store"] == "Root"}
    assert friendly == {root.sha1: "Contoso Root", issuing.sha1: None}
    (location,) = doc["iis"]["locations"]
    assert location["level"] == "below-site"
    assert location["access_ssl_flags"]["names"] == "Ssl, SslNegotiateCert, SslRequireCert"
    assert location["iis_mapping"]["one_to_one"][0]["has_password"] is True
    assert doc["logs"] == [{"name": "logs/W3SVC1/u_ex260601.log", "size": 30}]
    assert doc["errors"] == []
    assert any("SendTrustedIssuerList: absent from schannel.reg" in u for u in doc["unknowns"])


def test_zip_reads_exactly_like_the_folder(
    pki: PKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_bundle(tmp_path / "b", _seed(pki)[2])
    _, from_folder = _show(folder, capsys)
    for name, top, backslashes in (("plain", None, False), ("nested", "bundle", True)):
        archive = zip_folder(folder, tmp_path / f"{name}.zip", top=top, backslashes=backslashes)
        code, from_zip = _show(archive, capsys)
        assert code == 0 and from_zip["format"] == "zip"
        for key in ("schannel", "bindings", "stores", "certificates", "iis", "logs", "unknowns"):
            assert from_zip[key] == from_folder[key], key


def test_logs_in_a_zip_open_as_streams(pki: PKI, tmp_path: Path) -> None:
    archive = zip_folder(write_bundle(tmp_path / "b", _seed(pki)[2]), tmp_path / "b.zip")
    (log,) = load_machine(archive).logs
    with log.open() as stream:
        assert stream.read() == b"#Fields: date time sc-status\r\n"
    assert log.display.endswith("b.zip!logs/W3SVC1/u_ex260601.log")


def test_missing_parts_are_unknown_with_defaults_said(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    machine = load_machine(tmp_path / "empty").machine
    assert machine.stores == () and machine.iis is None and machine.bindings_source is None
    notes = " | ".join(machine.notes)
    assert "Root store: unknown (not exported)" in notes
    assert "SCHANNEL registry key: not exported; Windows defaults assumed" in notes
    assert "ClientAuthTrustMode=0 (Machine Trust)" in notes
    assert "HTTP.sys SSL bindings: not exported" in notes
    assert "IIS configuration: not exported" in notes


def test_known_empty_is_not_unknown(tmp_path: Path) -> None:
    spec = BundleSpec().add("stores/Root.sst", sst_bundle([]))
    spec.add("netsh-sslcert.txt", "SSL Certificate bindings:\r\n-------------------------\r\n")
    machine = load_machine(write_bundle(tmp_path / "b", spec)).machine
    assert machine.knows("Root") and len(machine.store("Root")) == 0
    assert "HTTP.sys SSL bindings: none in netsh-sslcert.txt" in machine.notes
    assert not any(n.startswith("Root store") for n in machine.notes)


def test_netsh_wins_over_the_registry_and_settings_toml_wins_over_all(tmp_path: Path) -> None:
    reg_binding = SslBinding(endpoint="10.0.0.1:443", flags=Setting(0))
    spec = BundleSpec().add("registry/http.reg", sslbinding_reg([reg_binding]))
    spec.add("schannel.reg", schannel_reg(trust_mode=2))
    spec.add("netsh-sslcert.txt", netsh_sslcert([BINDING]))
    spec.add("settings.toml", "[schannel]\nclient_auth_trust_mode = 1\n")
    loaded = load_machine(write_bundle(tmp_path / "b", spec))
    machine = loaded.machine
    assert [b.endpoint for b in machine.bindings] == ["0.0.0.0:443"]
    assert machine.schannel.client_auth_trust_mode == Setting(1, "settings.toml [schannel]")
    assert any("registry/http.reg not used" in n for n in machine.notes)


def test_registry_bindings_used_without_netsh(tmp_path: Path) -> None:
    spec = BundleSpec().add("registry/http.reg", sslbinding_reg([BINDING]))
    machine = load_machine(write_bundle(tmp_path / "b", spec)).machine
    assert machine.bindings_source == "registry/http.reg"
    assert machine.binding.ctl_store_name.value == "ClientAuthIssuer"


def test_legacy_layout_still_reads(pki: PKI, tmp_path: Path) -> None:
    root = pki.root("Legacy Root")
    spec = BundleSpec().add("Root.sst", sst_bundle([root]))
    spec.add("settings.toml", '[binding]\nctl_store_name = "ClientAuthIssuer"\n')
    machine = load_machine(write_bundle(tmp_path / "b", spec)).machine
    assert machine.store("Root").certificates[0].sha1 == root.sha1
    assert machine.binding.ctl_store_name == Setting("ClientAuthIssuer", "settings.toml [binding]")


def test_single_exported_file_is_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "schannel.reg").write_bytes(schannel_reg(trust_mode=2))
    loaded = load_machine(tmp_path / "schannel.reg")
    assert loaded.format == "file"
    assert loaded.machine.schannel.client_auth_trust_mode == Setting(2, "schannel.reg:4")


def test_listings_and_stores_folder(pki: PKI, tmp_path: Path) -> None:
    root = pki.root("Listed Root")
    spec = BundleSpec().add("stores/Root.txt", format_list([root.certificate]).encode("utf-16"))
    spec.add("stores/CA/one.cer", root.intermediate("Folder CA").der)
    machine = load_machine(write_bundle(tmp_path / "b", spec)).machine
    assert [c.thumbprint for c in machine.listed_in("Root")] == [root.sha1]
    assert not machine.knows("Root") and len(machine.store("CA")) == 1


def test_malformed_part_is_named_and_the_rest_kept(
    pki: PKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, spec = _seed(pki)
    broken = netsh_sslcert([BINDING]).replace(
        "Usage Check                  : Enabled", "Usage Check : Sometimes"
    )
    spec.add("netsh-sslcert.txt", broken)
    folder = write_bundle(tmp_path / "b", spec)
    code, doc = _show(folder, capsys)
    assert code == 2
    assert doc["errors"] == [
        f"{folder / 'netsh-sslcert.txt'}: expected Enabled, Disabled, Set or Not Set, "
        "not 'Sometimes' (at line 11)"
    ]
    assert doc["schannel"]["client_auth_trust_mode"]["value"] == 0  # the rest is still there
    assert {s["name"] for s in doc["stores"]} == {"Root", "CA", "ClientAuthIssuer", "Disallowed"}
    with pytest.raises(InputError, match="line 11"):
        load_machine(folder)  # strict by default: verify/audit never judge a half-read machine
    assert main(["machine", "show", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "expected Enabled, Disabled, Set or Not Set" in err


def test_zip_escaping_the_bundle_is_refused(tmp_path: Path) -> None:
    for evil in ("../evil.reg", "/etc/schannel.reg", "C:\\Windows\\x.reg", "a/../../x.reg"):
        target = tmp_path / "evil.zip"
        with zipfile.ZipFile(target, "w") as archive:
            archive.writestr("schannel.reg", schannel_reg(trust_mode=0))
            archive.writestr(evil, b"x")
        with pytest.raises(InputError, match="would escape the bundle"):
            load_machine(target)


def test_oversized_part_is_refused(tmp_path: Path) -> None:
    spec = BundleSpec().add("schannel.reg", schannel_reg(trust_mode=0))
    archive = zip_folder(write_bundle(tmp_path / "b", spec), tmp_path / "b.zip")
    (file,) = list_bundle(archive).files
    with pytest.raises(InputError, match="refused"):
        file.read(limit=10)
    assert file.read().startswith(b"\xff\xfe")


def test_not_a_bundle() -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        load_machine("/nonexistent/bundle")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("stores/Root.sst", ("store", "Root")),
        ("stores/Root.txt", ("listing", "Root")),
        ("stores/My CTL/a.cer", ("store", "My CTL")),
        ("Root.p7b", ("store", "Root")),
        ("listings/all.txt", ("listing", None)),
        ("schannel.reg", ("registry", None)),
        ("registry/http-sslbindinginfo.reg", ("registry", None)),
        ("iis/applicationHost.config", ("iis", None)),
        ("iis/sites/Shop/api/web.config", ("webconfig", "Shop/api")),
        ("logs/iis/W3SVC1/u_ex.log", ("log", None)),
        ("notes.docx", ("ignored", None)),
        ("export.txt", ("text", None)),
    ],
)
def test_classify(name: str, expected: tuple[str, str | None]) -> None:
    assert classify(name) == expected


@settings(max_examples=100, deadline=None)
@given(
    st.binary(max_size=600), st.sampled_from(["bundle.zip", "schannel.reg", "Root.txt", "x.config"])
)
def test_fuzz_single_files_and_zips(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, name: str
) -> None:
    target = tmp_path_factory.mktemp("fuzz") / name
    target.write_bytes(b"PK\x03\x04" + data if name.endswith(".zip") else data)
    try:
        loaded = load_machine(target, strict=False)
    except InputError:
        return
    assert loaded.format in ("zip", "file")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="abc./\\:stores", min_size=1, max_size=20), max_size=6))
def test_fuzz_zip_member_names(tmp_path_factory: pytest.TempPathFactory, names: list[str]) -> None:
    target = tmp_path_factory.mktemp("fuzz") / "b.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for index, name in enumerate(names):
            archive.writestr(f"{name}{index}", b"x")
    try:
        loaded = load_machine(target, strict=False)
    except InputError:
        return
    assert all(".." not in p.name.split("/") for p in loaded.parts)


def test_a_file_or_folder_with_no_bundle_part_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not a bundle")
    with pytest.raises(InputError, match="not a machine bundle part"):
        load_machine(junk)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "notes.docx").write_bytes(b"PK")
    with pytest.raises(InputError, match="no machine bundle part in it"):
        load_machine(folder)


def test_a_corrupt_zip_bundle_is_named_as_a_bad_zip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A damaged .zip used to be told "not a machine bundle part: give a folder or .zip".
    broken = tmp_path / "server1.zip"
    broken.write_bytes(b"PK\x03\x04 truncated download")
    with pytest.raises(InputError, match="not a readable zip"):
        list_bundle(broken)
    assert main(["fleet", "doctor", str(tmp_path)]) == 2
    err = capsys.readouterr()
    assert "not a readable zip" in err.out + err.err and "Traceback" not in err.err
