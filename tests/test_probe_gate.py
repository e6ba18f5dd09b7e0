"""The probe against certgate's own gate: per-path requirement and the seed reproduction."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from certgate.core.gate.policy import Policy
from certgate.core.probe import ProbeResult, Requirement, TlsVersion
from certgate.core.stores import CA, ROOT, Machine
from certgate.demo import build_demo_machine
from certgate.gate.config import GateConfig
from certgate.inputs.bundle import load_machine
from certgate.tls.credentials import load_credentials
from certgate.tls.probe import ProbeOptions, ProbeTarget, probe
from gate_support import PKI, config, gate, machine


def _options(
    cert: Path | None = None, key: Path | None = None, chain: Path | None = None
) -> ProbeOptions:
    credentials = (
        load_credentials(cert=str(cert), key=str(key), chain=str(chain) if chain else None)
        if cert
        else None
    )
    return ProbeOptions(timeout=5.0, credentials=credentials)


def test_per_path_requirement_is_seen_per_path(pki: PKI, tmp_path: Path, now: datetime) -> None:
    root = pki.root("CN=Contoso Root,O=Contoso")
    document = {
        "trust": {"engine": "rfc5280"},
        "location": [
            {"path": "/", "client_cert": "accept"},
            {"path": "/api", "client_cert": "require"},
        ],
    }
    with gate(config(document, tmp_path, machine([root])), now) as running:
        result = probe(ProbeTarget("127.0.0.1", running.port, paths=("/", "/api")), _options())
    for version in result.versions:
        by_path = {p.path: p for p in version.paths}
        assert by_path["/"].requirement is Requirement.OPTIONAL, version.version
        assert by_path["/api"].requirement is Requirement.REQUIRED, version.version
        answer = by_path["/api"].without_certificate.http
        assert answer is not None and answer.substatus == "403.7"
        assert "iis:403.7" in answer.kb
        assert version.handshake_request is not None  # asked in the handshake, IIS-style
    assert {v.version for v in result.versions} == {TlsVersion.TLS1_2, TlsVersion.TLS1_3}


def test_seed_reproduction_through_the_probe(tmp_path: Path) -> None:
    demo = build_demo_machine(tmp_path)
    seed = load_machine(demo.folder).machine
    options = _options(demo.client, demo.key, demo.chain)
    when = datetime.now().astimezone()

    def run(server: Machine) -> ProbeResult:
        cfg = GateConfig(Policy(engine="windows", machine=server))
        with gate(cfg, when) as running:
            return probe(ProbeTarget("127.0.0.1", running.port, paths=("/Service.svc",)), options)

    before = run(seed)
    assert before.certificate_refused
    for path in (p for v in before.versions for p in v.paths):
        assert path.with_certificate is not None
        answer = path.with_certificate.http
        assert answer is not None and answer.substatus == "403.16"
        assert {"iis:403.16", "hresult:CERT_E_UNTRUSTEDROOT"} <= set(answer.kb)
    fixed = run(seed.moving(demo.misplaced_sha1, ROOT, CA))
    assert not fixed.certificate_refused


def test_issuer_list_sent_makes_the_certificate_unselectable(tmp_path: Path) -> None:
    """KB 2802568 scenario 2: with the list sent, it names only the misplaced CA (403.7)."""
    demo = build_demo_machine(tmp_path)
    seed = load_machine(demo.folder).machine
    sent = seed.with_schannel(seed.schannel.with_send_issuer_list(True, "test"))
    options = _options(demo.client, demo.key, demo.chain)
    cfg = GateConfig(Policy(engine="windows", machine=sent))
    with gate(cfg, datetime.now().astimezone()) as running:
        result = probe(ProbeTarget("127.0.0.1", running.port, paths=("/",)), options)
    for version in result.versions:
        request = version.handshake_request
        assert request is not None
        assert [str(n) for n in request.ca_names] == [
            "CN=Contoso Issuing CA 01, O=Contoso Ltd, C=US"
        ]
        (path,) = version.paths
        assert path.selection is not None and not path.selection.offered
    codes = {finding.code for finding in result.findings}
    assert "probe-not-selectable" in codes
