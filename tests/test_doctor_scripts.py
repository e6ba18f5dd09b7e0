"""The doctor's remediation scripts: syntax (PowerShell grammar, our .reg parser, a netsh
grammar), idempotence on the file-store equivalents, and a fix folder written whole."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import tree_sitter
import tree_sitter_powershell
from hypothesis import given, settings
from hypothesis import strategies as st

import doctor_scenarios as sc
from certgate.cli import main
from certgate.core.changes import BindingSwitch, SetBindingParameters, SetCtlStore
from certgate.core.doctor import (
    CertRef,
    ImportCertificates,
    MoveCertificates,
    SetSchannelValue,
    UpdateBinding,
)
from certgate.core.settings import Setting, SslBinding
from certgate.formats import load_file
from certgate.formats.netsh_command import (
    binding_command,
    binding_from_command,
    parse_netsh_command,
)
from certgate.formats.reg import RegType, parse_reg
from certgate.formats.regkeys import schannel_from_reg
from certgate.remedy import cleaned_name, move_in_files
from certgate.remedy._scripts import import_script, move_script, netsh_script, schannel_reg
from certgate.testing import PKI, pem_bundle, sst_bundle
from certgate.testing.windows import IIS_APP_ID

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def ps_errors(source: str) -> list[tuple[int, str]]:
    stack = [PARSER.parse(source.encode()).root_node]
    found = []
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            found.append((node.start_point[0] + 1, node.type))
        stack.extend(node.children)
    return found


def netsh_part(line: str) -> str:
    """The command without a cmd.exe output redirection."""
    return line.split(" > ", 1)[0]


def _refs(pki: PKI) -> tuple[CertRef, ...]:
    root = pki.root("Root")
    cas = [root.intermediate(f"CA {i}'s") for i in range(2)]
    return tuple(CertRef(c.sha1, f"CN={c.name}", c.certificate) for c in cas)


def test_powershell_scripts_parse(pki: PKI) -> None:
    refs = _refs(pki)
    move = move_script(MoveCertificates(refs, "Root", "CA"), "A", "Move")
    imported = import_script(
        ImportCertificates("ClientAuthIssuer", tuple(r.certificate for r in refs if r.certificate)),
        ["ClientAuthIssuer-1.cer", "ClientAuthIssuer-2.cer"],
        "B",
        "Import it's",
    )
    assert ps_errors(move) == [] and ps_errors(imported) == []
    for script in (move, imported):  # -WhatIf and -Confirm as PowerShell users expect them
        assert "[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]" in script
        assert "$PSCmdlet.ShouldProcess(" in script and "$Apply" not in script
    for needle in (
        "Export-Certificate -Cert $all -Type SST",
        "Nothing to do",
    ):
        assert needle in move
    assert move.index("$PSCmdlet.ShouldProcess") < move.index("Export-Certificate -Cert")
    assert all(r.sha1 in move for r in refs)
    assert ps_errors(move.replace("foreach ($cert in $present) {", "foreach ($cert in {", 1))


def _binding() -> SslBinding:
    return SslBinding(
        endpoint="0.0.0.0:8443",
        cert_hash="AB" * 20,
        app_id=IIS_APP_ID,
        cert_store_name="WebHosting",
        cert_check_mode=Setting(0x2 | 0x10000),
        revocation_freshness_time=3600,
        url_retrieval_timeout=15000,
        ctl_identifier="Partner List",
        flags=Setting(0x1),
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"enable": (BindingSwitch.NEGOTIATE_CLIENT_CERT,)},
        {"disable": (BindingSwitch.VERIFY_REVOCATION,)},
        {"enable": (BindingSwitch.DISABLE_TLS13, BindingSwitch.DISABLE_HTTP2)},
        {"ctl_store": SetCtlStore("ClientAuthIssuer")},
        {"ctl_store": SetCtlStore(None)},
    ],
)
def test_netsh_lines_parse_and_keep_every_other_setting(changes: dict[str, Any]) -> None:
    binding = replace(_binding(), ctl_store_name=Setting("Partner CAs"))
    update = UpdateBinding(binding, SetBindingParameters(binding.endpoint, **changes))
    script = netsh_script(update, "A", "t")
    commands = [netsh_part(line) for line in script.split("\r\n") if line.startswith("netsh http ")]
    parsed = [parse_netsh_command(line) for line in commands]
    writes = [c for c in parsed if c.verb in ("add", "update")]
    assert len(writes) == 1
    expected = update.change.binding(binding)
    got = binding_from_command(writes[0])
    for name in (
        "endpoint",
        "cert_hash",
        "app_id",
        "cert_store_name",
        "revocation_freshness_time",
        "url_retrieval_timeout",
        "ctl_identifier",
    ):
        assert getattr(got, name) == getattr(expected, name), name
    assert got.cert_check_mode.value == expected.cert_check_mode.value
    assert got.flags.value == expected.flags.value
    assert got.ctl_store_name.value == expected.ctl_store_name.value
    assert 'if /i not "%~1"=="apply"' in script  # a dry run unless told to apply


def test_netsh_needs_hash_and_appid() -> None:
    with pytest.raises(ValueError, match="certificate hash or application id unknown"):
        binding_command(SslBinding())


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("netsh http update sslcert ipport=0.0.0.0:443", "needs certhash and appid"),
        ("netsh http update sslcert certhash=" + "a" * 40, "exactly one of"),
        ("netsh http frob sslcert ipport=0.0.0.0:443", "unknown command"),
        ("netsh http show sslcert ipport=0.0.0.0:443 usagecheck=enable", "takes only"),
        ("netsh http add sslcert ipport=0.0.0.0:443 certhash=zz appid={x}", "bad value"),
        ('netsh http add sslcert ipport="0.0.0.0:443', "unbalanced quotes"),
        ("netsh http show sslcert ipport=1.2.3.4:1 ipport=1.2.3.4:1", "twice"),
        ("netsh http show sslcert bogus=1", "unknown parameter"),
    ],
)
def test_netsh_grammar_rejects(line: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_netsh_command(line)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_netsh_parser_fuzz(text: str) -> None:
    try:
        command = parse_netsh_command("netsh http update sslcert " + text)
    except ValueError:
        return
    assert command.verb == "update"


def test_reg_file_parses_applies_and_is_idempotent() -> None:
    data = schannel_reg(
        [
            SetSchannelValue("ClientAuthTrustMode", 2),
            SetSchannelValue("SendTrustedIssuerList", 0, remove=("SendTrustedIssuers",)),
        ]
    )
    reg = parse_reg(data, "schannel.reg")
    (key,) = reg.keys
    assert [(v.name, v.type, v.data) for v in key.values] == [
        ("ClientAuthTrustMode", RegType.DWORD, 2),
        ("SendTrustedIssuerList", RegType.DWORD, 0),
        ("SendTrustedIssuers", RegType.DELETE, None),
    ]
    once = schannel_from_reg(reg)
    twice = schannel_from_reg(reg, once)
    assert once.client_auth_trust_mode.value == twice.client_auth_trust_mode.value == 2
    assert once.send_trusted_issuer_list.value is twice.send_trusted_issuer_list.value is False
    assert once.misspelled == ()
    with pytest.raises(Exception, match="line"):
        parse_reg(data.replace("dword:".encode("utf-16-le"), b"d\x00"), "bad.reg")


def test_store_file_move_is_idempotent(pki: PKI, tmp_path: Path) -> None:
    root = pki.root("Root")
    misplaced = root.intermediate("Misplaced")
    issuing = root.intermediate("Issuing")
    (tmp_path / "Root.sst").write_bytes(sst_bundle([(root, "Root"), (misplaced, "Misplaced")]))
    (tmp_path / "CA.sst").write_bytes(sst_bundle([(issuing, "Issuing")]))
    first = move_in_files(tmp_path / "Root.sst", tmp_path / "CA.sst", [misplaced.sha1])
    out = tmp_path / "out"
    out.mkdir()
    (out / "Root.sst").write_bytes(first[0])
    (out / "CA.sst").write_bytes(first[1])
    second = move_in_files(out / "Root.sst", out / "CA.sst", [misplaced.sha1])
    assert second == first
    assert [c.sha1 for c in load_file(out / "Root.sst").certificates] == [root.sha1]
    assert [c.sha1 for c in load_file(out / "CA.sst").certificates] == [
        issuing.sha1,
        misplaced.sha1,
    ]


def test_cleaned_pem_bundle_is_stable_and_beside_the_original(
    pki: PKI, now: datetime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = sc.seed_like(pki)
    _bundle, client = server.write(tmp_path)
    roots = tmp_path / "roots.pem"
    original = pem_bundle([server.root, *server.others, *server.misplaced])
    roots.write_bytes(original)
    fixes = tmp_path / "fixes"
    args = [
        "doctor",
        "--root",
        str(roots),
        "--client-cert",
        str(client),
        "--at",
        now.isoformat(),
        "--fix-dir",
        str(fixes),
        "--json",
    ]
    assert main(args) == 1
    capsys.readouterr()
    cleaned = cleaned_name(roots)
    assert roots.read_bytes() == original  # never overwritten
    kept = [c.sha1 for c in load_file(cleaned).certificates]
    assert kept == [server.root.sha1, *(o.sha1 for o in server.others)]
    again, _ = move_in_files(cleaned, None, [m.sha1 for m in server.misplaced])
    assert again == cleaned.read_bytes()
    first = {p: p.read_bytes() for p in fixes.rglob("*") if p.is_file()}
    assert main(args) == 1
    capsys.readouterr()
    assert {p: p.read_bytes() for p in fixes.rglob("*") if p.is_file()} == first
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no temporary file left
    names = sorted(str(p.relative_to(fixes)) for p in first)
    assert "1-root-not-self-signed/A-move-to-intermediate/move-root-to-ca.ps1" in names
    assert "1-root-not-self-signed/B-trust-mode-2/schannel.reg" in names
    readme = (fixes / "1-root-not-self-signed/B-trust-mode-2/README.md").read_text()
    assert "**Reboot required.**" in readme and "--what-if trust-mode=2" in readme


def test_fix_dir_scripts_for_every_scenario_parse(
    now: datetime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for make in (
        sc.renegotiation,
        sc.ctl_store_empty,
        sc.missing_root,
        sc.send_issuer_list_misspelled,
    ):
        folder = tmp_path / make.__name__
        bundle, client = make(PKI(now=now)).write(folder)
        main(
            [
                "doctor",
                str(bundle),
                "--client-cert",
                str(client),
                "--at",
                now.isoformat(),
                "--fix-dir",
                str(folder / "fixes"),
                "--json",
            ]
        )
        capsys.readouterr()
        files = [p for p in (folder / "fixes").rglob("*") if p.is_file()]
        assert files
        for path in files:
            if path.suffix == ".ps1":
                assert ps_errors(path.read_text(encoding="utf-8-sig")) == [], path
            elif path.suffix == ".reg":
                parse_reg(path.read_bytes(), path.name)
            elif path.suffix == ".cmd":
                for line in path.read_text().split("\r\n"):
                    if line.startswith("netsh http"):
                        parse_netsh_command(netsh_part(line))


def test_unwritable_fix_dir_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["doctor", "--demo", "--json", "--fix-dir", str(blocker / "fixes")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"certgate: {blocker / 'fixes'}") and "cannot be written" in err
