"""Hostile bundles against the generated fix scripts: certificate names, binding values and
registry names built to break out of comments and strings. Every script the doctor writes is
read as its interpreter would (``script_syntax``) and no injected command may survive; values
that fail their grammar are refused, with a one-line reason, instead of written."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

import doctor_scenarios as sc
from certgate.cli import main
from certgate.core.changes import SetBindingParameters, SetCtlStore
from certgate.core.doctor import CertRef, MoveCertificates, SetSchannelValue, UpdateBinding
from certgate.core.settings import Setting
from certgate.core.visible import visible
from certgate.formats.reg import parse_reg
from certgate.formats.regkeys import SCHANNEL_KEY
from certgate.remedy._safe import cmd_comment, ps_string
from certgate.remedy._scripts import move_script, netsh_script, schannel_reg
from certgate.testing import PKI
from script_syntax import cmd_commands, cmd_problems, ps_problems

MARKERS = ("calc", "PWNED")
# Each breaks out of something: a line comment, a block comment, a ' string (ASCII and the
# typographic quotes PowerShell also ends strings at), a " string, cmd's & and %.
HOSTILE_CN = "Evil\r\n#>\r\nStart-Process calc.exe # PWNED\r\n<#"
HOSTILE_O = (
    "x' ; calc.exe ; 'PWNED \u2019; calc.exe; \u2018 $(calc.exe) \" & calc.exe & rem %COMSPEC%"
)


def hostile(role: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, HOSTILE_O),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{role} {HOSTILE_CN}"),
        ]
    )


def doctor_fix_dir(tmp_path: Path, server: sc.Server) -> tuple[int, Path]:
    bundle, client = server.write(tmp_path)
    out = tmp_path / "fixes"
    code = main(["doctor", str(bundle), "--client-cert", str(client), "--fix-dir", str(out)])
    return code, out


def assert_no_injection(folder: Path) -> list[Path]:
    scripts = sorted(p for p in folder.rglob("*") if p.suffix in (".ps1", ".cmd", ".reg"))
    for path in scripts:
        data = path.read_bytes()
        if path.suffix == ".ps1":
            assert ps_problems(data.decode("utf-8-sig"), MARKERS) == [], path
        elif path.suffix == ".cmd":
            assert cmd_problems(data.decode(), MARKERS) == [], path
        else:
            keys = parse_reg(data, str(path)).keys
            assert [k.path for k in keys] == [SCHANNEL_KEY], path
    for readme in folder.rglob("README.md"):
        assert "\r" not in readme.read_text() and "\x1b" not in readme.read_text()
    return scripts


def test_hostile_certificate_names_stay_in_comments(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    server = sc.seed_like(pki)
    server.misplaced = [server.root.intermediate(hostile("Misplaced"))]
    code, out = doctor_fix_dir(tmp_path, server)
    assert code == 1, capsys.readouterr()
    scripts = assert_no_injection(out)
    moves = [p for p in scripts if p.name == "move-root-to-ca.ps1"]
    assert moves and "Misplaced Evil\\r\\n#_>" in moves[0].read_text("utf-8-sig")


def test_hostile_binding_values_in_a_bundle_are_refused_with_one_line(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = {
        "app_id": "{4dc3e181-e14b-4a21-b022-59fc669b0914} & calc.exe & rem",
        "cert_store_name": "../../etc",
        "ctl_store_name": 'CTL" & calc.exe & "',
    }
    for name, value in cases.items():
        server = sc.ctl_store_empty(pki)
        bad: object = Setting(value, "x") if name == "ctl_store_name" else value
        server.binding = replace(server.binding, **{name: bad})  # type: ignore[arg-type]
        code, out = doctor_fix_dir(tmp_path / name, server)
        err = capsys.readouterr().err
        assert code == 2, (name, err)
        assert err.count("\n") == 1 and "netsh-sslcert.txt" in err and "line" in err, err
        assert not out.exists()


def test_a_hostile_ctl_identifier_gets_no_netsh_script(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    server = sc.ctl_store_empty(pki)
    server.binding = replace(server.binding, ctl_identifier="Partners & calc.exe %PWNED%")
    code, out = doctor_fix_dir(tmp_path, server)
    assert code == 1, capsys.readouterr()
    assert_no_injection(out)
    assert not list(out.rglob("update-binding.cmd"))
    readmes = " ".join(p.read_text() for p in out.rglob("README.md"))
    assert "No netsh script: a binding value is not valid for netsh" in readmes


def test_negative_control_a_clean_binding_gets_a_script_the_tokenizer_accepts(
    tmp_path: Path, pki: PKI
) -> None:
    code, out = doctor_fix_dir(tmp_path, sc.ctl_store_empty(pki))
    assert code == 1
    [script] = out.rglob("update-binding.cmd")
    assert cmd_problems(script.read_text(), MARKERS) == []
    injected = script.read_text().replace("exit /b 0", "exit /b 0 & calc.exe", 1)
    assert cmd_problems(injected, MARKERS) == ["command 'calc.exe'"]


def test_writers_refuse_values_outside_their_grammar(pki: PKI) -> None:
    binding = sc.ctl_store_empty(pki).binding
    for change in (
        {"app_id": "{4dc3e181-e14b-4a21-b022-59fc669b0914} & calc.exe"},
        {"endpoint": "0.0.0.0:443 & calc.exe"},
        {"cert_store_name": 'My" & calc.exe & "'},
        {"ctl_identifier": "x\r\ncalc.exe"},
    ):
        hostile_binding = replace(binding, **change)  # type: ignore[arg-type]
        clear = SetBindingParameters(hostile_binding.endpoint, ctl_store=SetCtlStore(None))
        with pytest.raises(ValueError):
            netsh_script(UpdateBinding(hostile_binding, clear), "A", "t")
    ref = CertRef("AB" * 20, "CN=x")
    for source, refs in (("../../etc", (ref,)), ("Root", (CertRef("AB' ; calc.exe", "CN=x"),))):
        with pytest.raises(ValueError):
            move_script(MoveCertificates(refs, source, "CA"), "A", "t")
    for name in ("SendTrustedIssuers\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Run]", "x\x00"):
        with pytest.raises(ValueError):
            schannel_reg([SetSchannelValue("SendTrustedIssuerList", 0, remove=(name,))])


def test_hostile_titles_and_quotes_cannot_leave_comments_or_strings() -> None:
    ref = CertRef("AB" * 20, HOSTILE_CN + HOSTILE_O)
    script = move_script(MoveCertificates((ref,), "Root", "CA"), "A#>", HOSTILE_CN)
    assert ps_problems(script, MARKERS) == []
    # negative control: the same name written raw into the comment is caught
    raw = script.replace("#_>", "#>")
    assert ps_problems(raw, MARKERS) != []
    reg = schannel_reg([SetSchannelValue("SendTrustedIssuerList", 0, remove=('a"]b\\c',))])
    [key] = parse_reg(reg, "schannel.reg").keys
    assert [v.name for v in key.values] == ["SendTrustedIssuerList", 'a"]b\\c']


_ANY_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), min_size=0, max_size=60).map(
    lambda t: t + " calc.exe PWNED"
)


@settings(max_examples=60, deadline=None)
@given(subject=_ANY_TEXT, title=_ANY_TEXT)
def test_fuzz_free_text_never_leaves_a_powershell_comment(subject: str, title: str) -> None:
    ref = CertRef("AB" * 20, subject)
    script = move_script(MoveCertificates((ref,), "Root", "CA"), "A", title)
    assert ps_problems(script, MARKERS) == []


@settings(max_examples=200, deadline=None)
@given(text=_ANY_TEXT)
def test_fuzz_free_text_never_leaves_a_rem_line(text: str) -> None:
    script = f"@echo off\r\nrem {cmd_comment(text)}\r\nexit /b 0\r\n"
    assert cmd_problems(script, MARKERS) == []
    assert [words[0] for words in cmd_commands(script)] == ["@echo", "rem", "exit"]


@settings(max_examples=200, deadline=None)
@given(text=_ANY_TEXT)
def test_fuzz_ps_string_round_trips_as_one_verbatim_string(text: str) -> None:
    try:
        quoted = ps_string(text)
    except ValueError:
        assert visible(text) != text  # refused only for control characters
        return
    assert ps_problems(f"$x = {quoted}\n", MARKERS) == []
