"""Nothing certgate prints can be turned against its reader: certificate names and a server's
CA names holding ESC sequences, CR, LF and bidi overrides reach the terminal made visible
(``core.visible``), in every command that prints them, and the JSON documents stay valid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from rich.table import Table
from rich.text import Text

import doctor_scenarios as sc
from certgate.cli import main
from certgate.core.visible import visible, visible_lines
from certgate.report._text import escape
from certgate.report.console import out_console
from certgate.report.jsonout import dumps
from certgate.testing import PKI, sst_bundle
from certgate.testing.logs import iis_header, iis_line
from servers import s_server

FAKE = "FAKE: ACCEPTED by every engine"
HOSTILE_O = f"\x1b[2K\x1b[32mContoso\r{FAKE}\n{FAKE}\u202egnp.exe\x9b31m"
HOSTILE_CN = "Evil \x1b]0;pwned\x07 Root\x1b]8;;https://evil.test\x1b\\"


def hostile_name(role: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, HOSTILE_O),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{role} {HOSTILE_CN}"),
        ]
    )


def assert_safe(text: str) -> None:
    """No raw control character but line feeds, and no line the data forged."""
    assert not any(ch in text for ch in "\x1b\r\x07\x9b\u202e"), repr(text[:300])
    assert not any(line.lstrip().startswith(FAKE) for line in text.splitlines())


def test_visible_makes_every_control_visible() -> None:
    assert visible("a\x1b[31mb\r\n\t\x00\x7f\x9b\u202e\u2028") == (
        "a\\x1b[31mb\\r\\n\\t\\x00\\x7f\\x9b\\u202e\\u2028"
    )
    plain = "CN=Müller, O=Contoso\\Ops, 中文 ✓"
    assert visible(plain) is plain  # ordinary text, backslashes included, is left alone
    assert visible_lines("one\x1b\ntwo\r") == "one\\x1b\ntwo\\r"
    assert escape("[bold]\x1b") == "\\[bold]\\x1b"


def test_console_is_a_backstop_for_unescaped_text(capsys: pytest.CaptureFixture[str]) -> None:
    console = out_console()
    table = Table()
    table.add_column("name")
    table.add_row(Text(HOSTILE_CN))
    console.print(table)
    console.print(HOSTILE_O, markup=False)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b]0;pwned" in out
    # negative control: a plain rich Console lets ESC through
    from io import StringIO

    from rich.console import Console

    raw = StringIO()
    Console(file=raw).print(Text(HOSTILE_CN))
    assert "\x1b" in raw.getvalue()


def test_json_escapes_controls_and_stays_valid() -> None:
    text = dumps({"schema": "t/1", "name": HOSTILE_O})
    assert_safe(text)
    assert json.loads(text)["name"] == HOSTILE_O


@pytest.fixture
def hostile(tmp_path: Path, pki: PKI) -> dict[str, Path]:
    root = pki.root(hostile_name("Root"))
    issuing = root.intermediate(hostile_name("Issuing"))
    client = issuing.client(hostile_name("Client"))
    server = root.server("localhost")
    return {
        "root": root.write_pem(tmp_path / "root.pem"),
        "chain": issuing.write_pem(tmp_path / "issuing.pem"),
        "client": client.write_pem(tmp_path / "client.pem"),
        "key": client.write_key(tmp_path / "client.key"),
        "server": server.write_pem(tmp_path / "srv.pem"),
        "server_key": server.write_key(tmp_path / "srv.key"),
    }


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_verify_shows_hostile_names_made_visible(
    hostile: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["verify", str(hostile["client"]), "--chain", str(hostile["chain"])]
    code, out = run(capsys, *args, "--root", str(hostile["root"]))
    assert code in (0, 1)
    assert_safe(out)
    assert "\\x1b[32mContoso\\r" in out.replace("\n", "") or "\\x1b" in out
    code, out = run(capsys, *args, "--root", str(hostile["root"]), "--json")
    assert_safe(out)
    json.loads(out)


def test_doctor_shows_hostile_names_made_visible(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    server = sc.seed_like(pki)
    server.misplaced = [server.root.intermediate(hostile_name("Misplaced"))]
    bundle, client = server.write(tmp_path)
    code, out = run(capsys, "doctor", str(bundle), "--client-cert", str(client))
    assert code == 1 and "Misplaced" in out
    assert_safe(out)
    code, out = run(capsys, "doctor", str(bundle), "--client-cert", str(client), "--json")
    assert_safe(out)
    assert json.loads(out)["schema"].startswith("certgate.doctor/")


def test_probe_shows_a_servers_hostile_ca_names_made_visible(
    tmp_path: Path, hostile: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    options = ("-verify", "1", "-CAfile", str(hostile["root"]))
    with s_server(tmp_path, hostile["server"], hostile["server_key"], *options) as port:
        code, out = run(capsys, "probe", f"localhost:{port}", "--tls", "1.3")
        assert code == 0 and "pwned" in out
        assert_safe(out)
        code, out = run(capsys, "probe", f"localhost:{port}", "--tls", "1.3", "--json")
        assert_safe(out)
        json.loads(out)


def test_every_other_command_keeps_hostile_text_visible(
    tmp_path: Path, pki: PKI, hostile: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """grep-level: audit, machine show, logs and explain print no raw ESC or CR either."""
    root = pki.root(hostile_name("Listed"))
    store = tmp_path / "machine" / "stores"
    store.mkdir(parents=True)
    (store / "Root.sst").write_bytes(sst_bundle([(root, f"friendly {HOSTILE_CN}\r{FAKE}")]))
    log = tmp_path / "u_ex260601.log"
    log.write_text(
        iis_header(when=pki.now)
        + iis_line(when=pki.now, sc_status=403, sc_substatus=16, sc_win32_status=2148204809)
        + f"2026-06-01 12:00:01 10.0.0.5 GET /\x1b[2J{HOSTILE_CN} - 443\r{FAKE}\n"
    )
    for args in (
        ["audit", str(hostile["root"]), str(hostile["chain"])],
        ["machine", "show", str(tmp_path / "machine")],
        ["logs", str(log)],
        ["explain", f"403.16 \x1b[2J{FAKE}\r"],
    ):
        for extra in ([], ["--json"]):
            main([*args, *extra])
            captured = capsys.readouterr()
            assert_safe(captured.out + captured.err)
            if args[0] == "audit" and not extra:  # the hostile text was shown, made visible
                assert "\\x1b" in captured.out, args
