"""Every ``certgate.*/1`` document validates against its checked-in JSON Schema
(docs/schemas/<name>-<version>.json): each command's ``--json`` (and ``--jsonl``) output, the
gate's denial and identity bodies, and a bundle's physical-stores.json."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import certgate
from certgate.cli import main
from certgate.core.gate.answers import denial_body
from certgate.core.gate.judge import judge_once
from certgate.core.gate.policy import AnswerFormat, Policy
from certgate.core.physical import PhysicalStore, PhysicalStores
from certgate.demo import write_demo_folder
from certgate.formats.physical import dump_physical_stores
from certgate.gate.backends import IdentityEcho
from certgate.testing import PKI
from servers import s_server

SCHEMAS = Path(__file__).parents[1] / "docs" / "schemas"
NAME = re.compile(r"certgate\.[a-z][a-z.-]*/[0-9]+")


def _schema_file(identifier: str) -> Path:
    return SCHEMAS / (identifier.removeprefix("certgate.").replace("/", "-") + ".json")


def validate(document: Any) -> None:
    """Against the schema its own ``schema`` field names (a missing file fails)."""
    assert isinstance(document, dict) and NAME.fullmatch(document["schema"]), document
    schema = json.loads(_schema_file(document["schema"]).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("schemas") / "demo"
    write_demo_folder(folder)
    return folder


@pytest.fixture(scope="module")
def probe_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    folder = tmp_path_factory.mktemp("schemas-probe")
    root = PKI().root("CN=Schema Root")
    server = root.server("localhost")
    alice = root.client("alice")
    alice.write_pem(folder / "alice.pem", chain=True)
    alice.write_key(folder / "alice.key")
    root.write_pem(folder / "root.pem")
    cert, key = server.write_pem(folder / "srv.pem"), server.write_key(folder / "srv.key")
    with s_server(folder, cert, key, "-Verify", "2", "-CAfile", str(folder / "root.pem")) as port:
        yield port, folder


COMMANDS = {
    "audit": ["audit", "{d}/Root.sst", "--json"],
    "audit-fail-on": ["audit", "{d}/bundle/stores", "--at", "2040-01-01", "--json"],
    "verify": [
        "verify",
        "{d}/alice.pem",
        "--machine",
        "{d}/bundle",
        "--crl",
        "{d}/issuing.crl",
        "--engine",
        "windows",
        "--json",
    ],
    "verify-what-if": [
        "verify",
        "{d}/alice.pem",
        "--machine",
        "{d}/bundle",
        "--json",
        "--what-if",
        "trust-mode=2",
    ],
    "explain": ["explain", "0x109", "--json"],
    "explain-none": ["explain", "no-such-thing-at-all", "--json"],
    "explain-list": ["explain", "--list", "--json"],
    "logs": ["logs", "{d}/bundle/logs", "--json"],
    "machine": ["machine", "show", "{d}/bundle.zip", "--json"],
    "machine-one-file": ["machine", "show", "{d}/Root.sst", "--json"],
    "doctor": ["doctor", "{d}/bundle", "--client-cert", "{d}/alice.pem", "--json"],
    "doctor-roots": ["doctor", "--root", "{d}/Root.sst", "--json"],
    "fleet-doctor": ["fleet", "doctor", "{d}/bundle", "{d}/bundle.zip", "--json"],
    "fleet-logs": ["fleet", "logs", "{d}/bundle/logs", "--json"],
}


@pytest.mark.parametrize("argv", COMMANDS.values(), ids=COMMANDS.keys())
def test_command_json(argv: list[str], demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([arg.format(d=demo) for arg in argv])
    out = capsys.readouterr().out
    assert code in (0, 1), out
    validate(json.loads(out))


def test_fleet_json_lines(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fleet", "doctor", str(demo / "bundle"), str(demo / "bundle.zip"), "--jsonl"]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert len(lines) == 2
    for line in lines:
        validate(line)


def test_fleet_with_an_unreadable_bundle(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unreadable server's entry has its own shape (``error``, no ``format``)."""
    bad = demo.parent / "damaged.zip"
    bad.write_bytes(b"PK\x03\x04 not a zip")
    assert main(["fleet", "doctor", str(demo / "bundle"), str(bad), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert {server["status"] for server in document["servers"]} >= {"unreadable"}
    validate(document)
    assert main(["fleet", "doctor", str(bad), "--jsonl"]) == 2
    (line,) = capsys.readouterr().out.splitlines()
    validate(json.loads(line))


def test_probe_json(probe_port: tuple[int, Path], capsys: pytest.CaptureFixture[str]) -> None:
    port, folder = probe_port
    credentials = ["--cert", str(folder / "alice.pem"), "--key", str(folder / "alice.key")]
    for argv in (
        [f"localhost:{port}", "--json"],
        [f"localhost:{port}", "--tls", "1.3", "--json", *credentials],
    ):
        assert main(["probe", *argv]) == 0
        validate(json.loads(capsys.readouterr().out))


def test_gate_documents() -> None:
    stranger = PKI().root("CN=Elsewhere").client("CN=x")
    now = datetime.now(UTC)
    for chain in ([stranger.der], []):
        decision = judge_once(Policy(), "/", chain, now)
        validate(json.loads(denial_body(decision, AnswerFormat.JSON)[1]))
    request = _Request()
    IdentityEcho().serve(request, decision)  # type: ignore[arg-type]
    validate(json.loads(request.body))
    physical = PhysicalStores.build(["Root"], [("Root", "AB" * 20, [PhysicalStore.GROUP_POLICY])])
    validate(json.loads(dump_physical_stores(physical)))


class _Request:
    """The one call IdentityEcho makes on the gate's request (a stand-in, not a mock)."""

    path = b"/orders"

    def __init__(self) -> None:
        self.body = b""

    def respond(self, status: int, headers: object, body: bytes) -> None:
        self.body = body


def test_a_wrong_document_fails(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["doctor", str(demo / "bundle"), "--json"])
    document = json.loads(capsys.readouterr().out)
    validate(document)
    del document["causes"]
    with pytest.raises(jsonschema.ValidationError):
        validate(document)
    with pytest.raises(jsonschema.ValidationError):
        validate({**document, "causes": "none"})
    with pytest.raises(FileNotFoundError):
        validate({"schema": "certgate.nothing/1"})


def test_every_document_named_in_the_code_has_a_schema() -> None:
    source = Path(certgate.__file__).parent
    named = {
        match
        for path in source.rglob("*.py")
        if "testing" not in path.parts
        for match in NAME.findall(path.read_text(encoding="utf-8"))
    }
    missing = sorted(name for name in named if not _schema_file(name).exists())
    assert missing == []
    stems = {_schema_file(name).stem for name in named}
    stale = sorted(p.name for p in SCHEMAS.glob("*.json") if p.stem not in stems)
    assert stale == []
