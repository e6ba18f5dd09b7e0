"""The streamed audit (issue 17): the same answer as auditing a machine in memory, certificates
dropped as soon as they are judged, and a file that fails half-way contributes nothing."""

from __future__ import annotations

import json
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from certgate.cli import main
from certgate.core.audit import AuditScan, audit
from certgate.core.model import Certificate
from certgate.core.rules._tally import thumbprint_digest
from certgate.core.stores import Machine
from certgate.inputs import Request, StoreFiles, load
from certgate.report.audit import audit_document
from certgate.testing import PKI, pem_bundle, sst_bundle

AT = "2026-06-01T12:00:00Z"
WHEN = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    main(["audit", *args, "--json", "--fail-on", "never", "--at", AT])
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_streamed_cli_equals_the_in_memory_audit(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stores touched in a mixed order, duplicates, a folder with a certificate in two files,
    one subject with two keys, intermediates in Root, a root in CA only, Disallowed: the
    streamed command and inputs.load + audit() + audit_document() agree to the byte."""
    root = pki.root("CN=Shared Root,O=Contoso")
    rekeyed = pki.root("CN=Shared Root,O=Contoso")
    other = pki.root("CN=Other Root", hash="sha1")
    inter = root.intermediate("CN=Issuing CA")
    lonely = pki.root("CN=Lonely Root")
    (tmp_path / "root.pem").write_bytes(pem_bundle([root, root, inter, other]))
    (tmp_path / "ca.sst").write_bytes(sst_bundle([(inter, "Issuing"), lonely]))
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "a.pem").write_bytes(pem_bundle([rekeyed, other]))
    (folder / "b.pem").write_bytes(pem_bundle([other]))
    (tmp_path / "bad.pem").write_bytes(pem_bundle([inter]))
    (tmp_path / "disallowed.pem").write_bytes(pem_bundle([other]))
    args = [
        str(tmp_path / "root.pem"),
        "--add",
        f"CA={tmp_path / 'ca.sst'}",
        "--add",
        f"Root={folder}",
        "--add",
        f"Disallowed={tmp_path / 'disallowed.pem'}",
        "--add",
        f"CA={tmp_path / 'root.pem'}",
    ]
    streamed = _json(args, capsys)
    inputs = [
        StoreFiles("Root", (str(tmp_path / "root.pem"),)),
        StoreFiles("CA", (str(tmp_path / "ca.sst"),)),
        StoreFiles("Root", (str(folder),)),
        StoreFiles("Disallowed", (str(tmp_path / "disallowed.pem"),)),
        StoreFiles("CA", (str(tmp_path / "root.pem"),)),
    ]
    loaded = load(Request(stores=tuple(inputs)))
    expected = audit_document(audit(loaded.machine, WHEN), None, loaded.warnings)
    assert streamed == json.loads(json.dumps(expected, default=str))
    rules = {f["id"] for f in streamed["findings"]}
    assert {
        "store::duplicate",
        "store::subject-several-keys",
        "store::also-disallowed",
        "root::not-self-signed",
        "ca::self-signed-root",
        "cert::weak-signature",
    } <= rules
    assert [s["name"] for s in streamed["stores"]] == ["Root", "Disallowed", "CA"]


def test_certificates_are_dropped_once_judged(pki: PKI) -> None:
    """Nothing of a streamed audit keeps a certificate alive: not the findings (30 % SHA-1
    here, each a finding), not the tallies, not the report."""
    roots = [pki.root(f"CN=Root {i}", hash="sha1" if i % 3 == 0 else "sha256") for i in range(12)]
    scan = AuditScan(Machine(), WHEN)
    alive: list[weakref.ref[Certificate]] = []
    for root in roots:
        cert = Certificate.from_der(root.certificate.der, source="x.pem")
        alive.append(weakref.ref(cert))
        scan.add("Root", cert)
        del cert
    report = scan.finish()
    assert sum(f.rule == "cert::weak-signature" for f in report.findings) == 4
    assert all(f.summary is not None and f.certificate is None for f in report.findings)
    assert [ref() for ref in alive] == [None] * len(roots)


def test_a_file_failing_half_way_adds_nothing(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its first certificates were judged before the broken block was met: the audit starts
    over without the file, as if it had been refused at once (a skipped file, one warning)."""
    good = pki.root("CN=Good Root")
    early = pki.root("CN=Early Root")
    broken = tmp_path / "broken.pem"
    broken.write_bytes(
        pem_bundle([early]) + b"-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n"
    )
    (tmp_path / "good.pem").write_bytes(pem_bundle([good]))
    document = _json([str(broken), str(tmp_path / "good.pem")], capsys)
    assert document["stores"] == [{"name": "Root", "count": 1}]
    assert [c["subject"] for c in document["certificates"]] == ["CN=Good Root"]
    assert any("skipped: broken base64" in w for w in document["warnings"])
    main(["audit", str(broken), "--at", AT])
    assert "broken base64" in capsys.readouterr().err


def test_thumbprint_digest_is_the_thumbprint(pki: PKI) -> None:
    cert = Certificate.from_der(pki.root("CN=Thumb").certificate.der)
    digest = thumbprint_digest(cert)
    assert digest.hex().upper() == cert.sha1
