"""``certgate probe`` on the command line: JSON, JSON Lines, exit codes, credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.cli import main
from certgate.cli.probe import parse_targets
from certgate.errors import InputError, UsageError
from certgate.testing import PKI
from certgate.tls.probe import ProbeTarget
from servers import free_ports, s_server


@dataclass(frozen=True)
class Setup:
    folder: Path
    port: int  # s_server requiring a certificate chained to root
    root_name: bytes  # DER of the root's subject


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("cli-probe")
    pki = PKI()
    root = pki.root("CN=CLI Root,O=certgate tests")
    issuing = root.intermediate("CN=CLI Issuing,O=certgate tests")
    alice = issuing.client("alice")
    mallory = pki.root("CN=Elsewhere,O=certgate tests").client("mallory")
    server = root.server("localhost")
    alice.write_pem(folder / "alice-chain.pem", chain=True)
    alice.write_pem(folder / "alice-leaf.pem")
    alice.write_key(folder / "alice.key")
    issuing.write_pem(folder / "issuing.pem")
    mallory.write_pem(folder / "mallory.pem")
    mallory.write_key(folder / "mallory.key")
    (folder / "alice.pfx").write_bytes(alice.pfx(b"s3cret"))
    root.write_pem(folder / "root.pem")
    options = ("-Verify", "2", "-CAfile", str(folder / "root.pem"), "-verify_return_error")
    with s_server(
        folder, server.write_pem(folder / "srv.pem"), server.write_key(folder / "srv.key"), *options
    ) as port:
        yield Setup(folder, port, root.x509.subject.public_bytes())


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["probe", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_document(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, f"localhost:{setup.port}", "--tls", "1.3", "--json")
    assert code == 0
    assert out.startswith('{\n  "schema": "certgate.probe/1"')
    document = json.loads(out)
    assert document["requirement"] == "REQUIRED" and document["error"] is None
    (version,) = document["versions"]
    assert version["version"] == "1.3"
    assert version["certificate_request"]["ca_names"] == [
        {"dn": "CN=CLI Root, O=certgate tests", "der_bytes": len(setup.root_name)}
    ]
    assert version["certificate_request"]["ca_names_bytes"] == 2 + len(setup.root_name)
    path = version["paths"][0]
    assert path["without_certificate"]["alert"] == {
        "number": 116,
        "name": "certificate_required",
        "kb": "tls-alert:116",
    }
    assert path["with_certificate"] is None and document["certificate_refused"] is None


def test_text_output(
    setup: Setup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # xdist workers get COLUMNS=80
    code, out, _ = cli(capsys, f"localhost:{setup.port}")
    assert code == 0
    assert "TLS alert 40 handshake_failure" in out and "TLS alert 116" in out
    assert "CN=CLI Root, O=certgate tests" in out and "REQUIRED" in out


def test_refused_certificate_exits_1(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    f = setup.folder
    code, out, _ = cli(
        capsys,
        f"localhost:{setup.port}",
        "--cert",
        str(f / "mallory.pem"),
        "--key",
        str(f / "mallory.key"),
        "--json",
    )
    assert code == 1
    document = json.loads(out)
    assert document["certificate_refused"] is True
    assert "PRIVATE KEY" not in out
    code, out, _ = cli(
        capsys,
        f"localhost:{setup.port}",
        "--cert",
        str(f / "alice-chain.pem"),
        "--key",
        str(f / "alice.key"),
        "--json",
    )
    assert code == 0 and json.loads(out)["certificate_refused"] is False


def test_chain_option_completes_a_bare_leaf(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    f = setup.folder
    leaf = ("--cert", str(f / "alice-leaf.pem"), "--key", str(f / "alice.key"))
    code, _, _ = cli(capsys, f"localhost:{setup.port}", *leaf, "--tls", "1.2")
    assert code == 1  # the server cannot build the chain without the intermediate
    code, out, _ = cli(
        capsys, f"localhost:{setup.port}", *leaf, "--chain", str(f / "issuing.pem"), "--json"
    )
    assert code == 0
    assert json.loads(out)["client_certificate"]["chain"] == [
        {"subject": "CN=CLI Issuing, O=certgate tests", "issuer": "CN=CLI Root, O=certgate tests"}
    ]


def test_pfx(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    pfx = str(setup.folder / "alice.pfx")
    code, out, _ = cli(
        capsys, f"localhost:{setup.port}", "--pfx", pfx, "--password", "s3cret", "--json"
    )
    assert code == 0 and json.loads(out)["certificate_refused"] is False
    code, _, err = cli(capsys, f"localhost:{setup.port}", "--pfx", pfx, "--password", "wrong")
    assert code == 2 and "wrong password" in err


def test_targets_file_gives_json_lines_in_order(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    (closed,) = free_ports(1)
    targets = setup.folder / "targets.txt"
    targets.write_text(
        f"# probe list\nlocalhost:{setup.port} /a /b\n\n127.0.0.1:{closed}\n"
        f"127.0.0.1:{setup.port} sni=localhost  # by address\n"
    )
    code, out, err = cli(capsys, "-f", str(targets), "--concurrency", "3", "--tls", "1.3")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [d["schema"] for d in lines] == ["certgate.probe/1"] * 3
    assert [d["target"]["port"] for d in lines] == [setup.port, closed, setup.port]
    assert lines[0]["target"]["paths"] == ["/a", "/b"]
    assert lines[1]["error"]["code"] == "refused" and lines[1]["requirement"] == "UNKNOWN"
    assert lines[2]["target"]["sni"] == "localhost" and lines[2]["requirement"] == "REQUIRED"
    assert "probed 3 target(s)" in err and "1 unreachable" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give one HOST[:PORT], or -f TARGETS_FILE"),
        (("localhost:1", "-f", "x.txt"), "give one HOST[:PORT], or -f TARGETS_FILE"),
        (("localhost:1", "--cert", "a.pem"), "--cert and --key go together"),
        (("localhost:1", "--chain", "a.pem"), "--chain needs a client certificate"),
        (("localhost:99999",), "is not a port"),
        (("localhost:1", "--path", "secure"), "is not a path"),
        (("localhost:1", "--tls", "1.1"), "Invalid value"),
        (("localhost:1", "--cert", "nope.pem", "--key", "nope.key"), "nope.key"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == ""
    assert message in err


def test_mismatched_key_is_bad_input(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    f = setup.folder
    code, _, err = cli(
        capsys, "localhost:1", "--cert", str(f / "alice-chain.pem"), "--key", str(f / "mallory.key")
    )
    assert code == 2 and "no certificate in it matches the private key" in err


def test_bad_targets_file_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = tmp_path / "t.txt"
    targets.write_text("localhost:443\nlocalhost:443 --weird\n")
    code, out, err = cli(capsys, "-f", str(targets))
    assert code == 2 and out == ""
    assert "line 2" in err and "--weird" in err


def test_target_parse() -> None:
    assert ProbeTarget.parse("example.com") == ProbeTarget("example.com", 443)
    assert (
        ProbeTarget.parse("[::1]:8443").port == 8443
        and ProbeTarget.parse("[::1]:8443").host == "::1"
    )
    assert ProbeTarget.parse("::1").host == "::1" and ProbeTarget.parse("::1").server_name is None
    assert ProbeTarget.parse("10.0.0.5:444", sni="app").server_name == "app"
    assert ProbeTarget.parse("h", paths=["/a"]).paths == ("/a",)
    for bad in ("", ":443", "host:0", "host:x", "[::1", "a b"):
        with pytest.raises(UsageError):
            ProbeTarget.parse(bad)
    for bad_sni in ("a..b", "x" * 300):
        with pytest.raises(UsageError, match="is not a server name"):
            ProbeTarget.parse("h", sni=bad_sni)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_targets_file(text: str) -> None:
    try:
        targets = parse_targets(text, "fuzz.txt")
    except InputError:
        return
    assert targets and all(0 < t.port < 65536 and t.paths for t in targets)
