"""``certgate doctor`` on generated machines: the seed case, one scenario per cause (each with
its expected top cause), and a healthy machine where no cause may be claimed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import doctor_scenarios as sc
from certgate.cli import main
from certgate.core.doctor import (
    DIAGNOSIS_RULES,
    Claim,
    DoctorContext,
    SampleClient,
    SymptomBuilder,
    diagnose,
)
from certgate.core.kb import knowledge_base
from certgate.core.stores import Machine
from certgate.demo import SEED_EVENTS, SeedCase, build_seed_case
from certgate.demo.live import LIVE_STEPS
from certgate.formats import load_file
from certgate.inputs.bundle import load_machine
from certgate.logs import LogScan
from certgate.testing import PKI


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["doctor", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def run_scenario(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: sc.Server, now: datetime
) -> tuple[int, dict[str, Any]]:
    bundle, client = server.write(tmp_path)
    return doctor(capsys, str(bundle), "--client-cert", str(client), "--at", now.isoformat())


SCENARIOS: list[tuple[Callable[[PKI], sc.Server], str]] = [
    (sc.seed_like, "cause::root-not-self-signed"),
    (sc.missing_intermediate, "cause::missing-issuer"),
    (sc.missing_root, "cause::missing-issuer"),
    (sc.issuer_list_too_large, "cause::issuer-list-too-large"),
    (sc.client_expired, "cause::client-expired"),
    (sc.client_revoked, "cause::client-revoked"),
    (sc.client_wrong_eku, "cause::client-wrong-eku"),
    (sc.revocation_offline, "cause::revocation-unreachable"),
    (sc.ctl_store_empty, "cause::ctl-store-empty"),
    (sc.renegotiation, "cause::renegotiation"),
    (sc.mapping_below_site, "cause::mapping-cannot-match"),
    (sc.send_issuer_list_misspelled, "cause::send-issuer-list-misspelled"),
    (sc.root_bad_self_signature, "cause::root-self-signature-invalid"),
]


@pytest.mark.parametrize(("make", "expected"), SCENARIOS, ids=[e for _, e in SCENARIOS])
def test_scenario_top_cause(
    make: Callable[[PKI], sc.Server],
    expected: str,
    pki: PKI,
    now: datetime,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, document = run_scenario(capsys, tmp_path, make(pki), now)
    assert code == 1
    assert document["schema"] == "certgate.doctor/1"
    assert document["causes"][0]["id"] == expected, [c["id"] for c in document["causes"]]
    top = document["causes"][0]
    assert top["evidence"] and top["fixes"] and len(top["what_if"]) == len(top["fixes"])
    assert document["unexplained"] == [], document["unexplained"]


def test_negative_control_healthy_machine_claims_nothing(
    pki: PKI, now: datetime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document = run_scenario(capsys, tmp_path, sc.healthy(pki), now)
    assert code == 0
    assert document["causes"] == [] and document["verdict"] == "no-cause-found"
    assert document["clients"][0]["iis_status"] == "200"


def test_seed_case_reads_like_the_support_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = build_seed_case(tmp_path)
    code, document = doctor(
        capsys, str(case.folder), "--client-cert", str(case.client), "--at", case.at.isoformat()
    )
    assert code == 1
    top = document["causes"][0]
    assert top["id"] == "cause::root-not-self-signed" and top["confidence"] == "high"
    summary = top["summary"]
    for text in (
        "3 non-self-signed certificate(s) in LocalMachine\\Root",
        "Contoso Issuing CA 01, Fabrikam Issuing CA, Northwind Partner CA",
        "ClientAuthTrustMode=0 (default)",
        "KB 2802568",
        f"{SEED_EVENTS:,} HttpsClientCertificateInvalid 0x109 events",
        f"{SEED_EVENTS:,} IIS 403.16 / 2148204809 (CERT_E_UNTRUSTEDROOT) entries",
        "from 10:02 to 11:40 UTC",
        "fix A (preferred): Move them to the Intermediate",
        "fix B: Set ClientAuthTrustMode=2",
        "reboot",
        "after either, the sample client certificate is accepted",
    ):
        assert text in summary, text
    texts = [e["text"] + " " + (e["source"] or "") for e in top["evidence"]]
    assert any("ClientAuthTrustMode=0" in t and "not set in schannel.reg" in t for t in texts)
    logs = [e for e in top["evidence"] if e["kind"] == "log"]
    (iis,) = [p.name for p in (case.folder / "logs").glob("u_ex*.log")]
    assert [e["lines"] for e in logs] == [
        ["logs/service.svclog:1", f"logs/service.svclog:{SEED_EVENTS}"],
        [f"logs/{iis}:8", f"logs/{iis}:4820"],
    ]
    assert [e["confidence"] for e in top["evidence"]].count("inferred") == 1
    for check in top["what_if"]:
        assert check["works"] and check["clients"][0]["before"] == "403.16"
        assert check["clients"][0]["after"] == "200"
    assert top["fixes"][1]["reboot"] and top["fixes"][0]["what_if_keys"][0].startswith("move=")


def test_seed_text_output_and_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--demo"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("ROOT CAUSE high confidence cause::root-not-self-signed")
    assert "[inferred]" in out and "what-if: cause gone; CN=alice 403.16 -> 200" in out


def test_list_sent_mode_1_and_fix_b_also_stops_the_list(
    pki: PKI, now: datetime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = sc.seed_like(pki, trust_mode=1, send_issuer_list=1)
    server.logs["u_ex260601.log"] = sc.iis_log(now, [(403, 7, 5)])
    _code, document = run_scenario(capsys, tmp_path, server, now)
    top = document["causes"][0]
    assert top["id"] == "cause::root-not-self-signed" and "403.7" in top["summary"]
    assert document["clients"][0]["iis_status"] == "403.7"
    fix_b = top["fixes"][1]
    assert [a["name"] for a in fix_b["actions"]] == ["ClientAuthTrustMode", "SendTrustedIssuerList"]
    assert all(check["works"] for check in top["what_if"])


def test_mode_2_is_not_a_cause(
    pki: PKI, now: datetime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = sc.seed_like(pki, trust_mode=2)
    server.logs.clear()
    code, document = run_scenario(capsys, tmp_path, server, now)
    assert code == 0 and document["causes"] == []


def test_unexplained_symptoms_are_listed(
    pki: PKI, now: datetime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = sc.healthy(pki)
    server.logs["u_ex260601.log"] = sc.iis_log(now, [(403, 16, sc.CERT_E_UNTRUSTEDROOT)], 3)
    _code, document = run_scenario(capsys, tmp_path, server, now)
    assert document["causes"] == []
    assert [(s["label"], s["count"]) for s in document["unexplained"]] == [
        ("IIS 403.16 / 2148204809 (CERT_E_UNTRUSTEDROOT)", 3)
    ]


def test_every_code_a_cause_explains_is_in_the_knowledge_base(
    pki: PKI, now: datetime, tmp_path: Path
) -> None:
    kb = knowledge_base()
    assert all(r.id.startswith("cause::") and r.explanation for r in DIAGNOSIS_RULES)
    seen = set()
    for make, _ in SCENARIOS:
        folder = tmp_path / make.__name__
        bundle, client = make(PKI(now=now)).write(folder)
        builder = SymptomBuilder()
        for event in LogScan([bundle / "logs"]) if (bundle / "logs").exists() else ():
            builder.add(event)
        context = DoctorContext(
            load_machine(bundle).machine, now, (SampleClient(*_chain(client)),), builder.symptoms()
        )
        for result in DIAGNOSIS_RULES.run(context):
            assert not result.error, result.error
            for claim in result.claims:
                seen.add(result.rule.id)
                missing = [code for code in claim.explains if kb.get(code) is None]
                assert missing == [], (result.rule.id, missing)
    assert seen == {rule.id for rule in DIAGNOSIS_RULES}


def _chain(path: Path) -> tuple[Any, tuple[Any, ...]]:
    leaf, *chain = load_file(path).certificates
    return leaf, tuple(chain)


def test_demo_live_steps_run_after_the_diagnosis(capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[Path] = []

    def step(case: SeedCase) -> int:
        calls.append(case.folder)
        return 0 if len(calls) == 1 else 5

    LIVE_STEPS.append(step)
    try:
        assert main(["doctor", "--demo"]) == 1
        assert main(["doctor", "--demo"]) == 5  # a failing live step ends the demo
    finally:
        LIVE_STEPS.remove(step)
    assert len(calls) == 2 and calls[0] != calls[1]
    capsys.readouterr()


def test_a_crashing_rule_is_reported_never_claimed(now: datetime) -> None:
    @DIAGNOSIS_RULES.rule("cause::test-crash", title="crash")
    def test_crash(ctx: DoctorContext) -> list[Claim]:
        """Always fails."""
        raise RuntimeError("boom")

    try:
        diagnosis = diagnose(Machine(), now)
        assert diagnosis.causes == ()
        assert diagnosis.errors == (
            "cause::test-crash: internal error while checking, result unknown: RuntimeError: boom",
        )
    finally:
        DIAGNOSIS_RULES.unregister("cause::test-crash")


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", str(tmp_path / "missing")]) == 2
    bad = tmp_path / "settings.toml"
    bad.write_text("[schannel]\nclient_auth_trust_mode = 7\n")
    assert main(["doctor", "--settings", str(bad)]) == 2
    assert "client_auth_trust_mode must be 0, 1 or 2" in capsys.readouterr().err
    assert main(["doctor", "--demo", str(tmp_path)]) == 2


def test_loose_inputs_root_settings_logs(
    pki: PKI, now: datetime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = sc.seed_like(pki)
    bundle, client = server.write(tmp_path)
    code, document = doctor(
        capsys,
        "--root",
        str(bundle / "stores/Root.sst"),
        "--settings",
        str(bundle / "schannel.reg"),
        "--logs",
        str(bundle / "logs"),
        "--client-cert",
        str(client),
        "--at",
        now.isoformat(),
    )
    assert code == 1 and document["causes"][0]["id"] == "cause::root-not-self-signed"
    assert document["symptoms"][0]["count"] == 5


def test_bad_self_signature_is_its_own_low_finding_with_the_audit_fix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: PKI, now: datetime
) -> None:
    code, document = run_scenario(capsys, tmp_path, sc.root_bad_self_signature(pki), now)
    ids = [c["id"] for c in document["causes"]]
    assert code == 1 and "cause::root-not-self-signed" not in ids
    cause = document["causes"][0]
    assert cause["id"] == "cause::root-self-signature-invalid" and cause["confidence"] == "low"
    assert any("[unconfirmed]" in line for line in cause["confidence_basis"])
    (fix,) = cause["fixes"]
    assert main(["audit", str(tmp_path / "bundle"), "--json"]) == 1
    audit = json.loads(capsys.readouterr().out)
    (finding,) = [f for f in audit["findings"] if f["id"] == "root::self-signature-invalid"]
    assert fix["actions"][0]["text"] == finding["fix"]
    assert "Not known" in finding["message"] and "Known" in finding["message"]


def test_confidence_is_computed_from_the_evidence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: PKI, now: datetime
) -> None:
    # proven by the stores and seen in the logs: high
    _, seed = run_scenario(capsys, tmp_path / "seed", sc.seed_like(pki), now)
    assert seed["causes"][0]["confidence"] == "high"
    # revocation: the binding checks it (a fact), unreachability only in the logs: never high
    _, offline = run_scenario(capsys, tmp_path / "offline", sc.revocation_offline(pki), now)
    revocation = [c for c in offline["causes"] if c["id"] == "cause::revocation-unreachable"]
    assert revocation and revocation[0]["confidence"] != "high"
    assert any("likely" in line for line in revocation[0]["confidence_basis"])
