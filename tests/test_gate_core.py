"""The gate's pure core: mapping rules, locations, the judge and its cache, answers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from certgate.core.gate.answers import denial_body, header_safe, identity_headers
from certgate.core.gate.decision import GateCode
from certgate.core.gate.judge import Judge, judge_once
from certgate.core.gate.mapping import (
    CertField,
    FieldRule,
    ManyToOne,
    MappingConfig,
    OneToOne,
    Permission,
    SanRule,
    SanType,
    map_identity,
    san_values,
)
from certgate.core.gate.policy import AnswerFormat, ClientCertMode, Location, Policy
from certgate.core.kb import describe
from certgate.core.names import Name
from certgate.testing import PKI, SERVER_AUTH, Issued
from gate_support import machine


@pytest.fixture
def tree(pki: PKI) -> dict[str, Issued]:
    root = pki.root("CN=Contoso Root,O=Contoso")
    issuing = root.intermediate("CN=Contoso Issuing CA 02,O=Contoso", path_length=0)
    return {
        "root": root,
        "issuing": issuing,
        "alice": issuing.client(
            "CN=Alice Smith,OU=Finance,O=Contoso,C=US",
            san=[
                "uri:spiffe://contoso.test/ns/pay/sa/api",
                "uri:https://contoso.test/alice",
                "dns:alice.contoso.test",
                "email:Alice@Contoso.test",
                "upn:alice@corp.contoso.test",
            ],
        ),
    }


def _rule(field: str, sub: str, match: str, case: bool = True) -> FieldRule:
    return FieldRule(CertField(field), sub, match, case)


def test_san_values_by_type(tree: dict[str, Issued]) -> None:
    values = san_values(tree["alice"].certificate)
    assert values[SanType.SPIFFE] == ("spiffe://contoso.test/ns/pay/sa/api",)
    assert values[SanType.URI] == (
        "spiffe://contoso.test/ns/pay/sa/api",
        "https://contoso.test/alice",
    )
    assert values[SanType.DNS] == ("alice.contoso.test",)
    assert values[SanType.EMAIL] == ("Alice@Contoso.test",)
    assert values[SanType.UPN] == ("alice@corp.contoso.test",)
    assert san_values(tree["issuing"].certificate) == {}


def test_one_to_one_is_the_exact_certificate(tree: dict[str, Issued], pki: PKI) -> None:
    alice = tree["alice"].certificate
    renewed = tree["issuing"].client("CN=Alice Smith,OU=Finance,O=Contoso,C=US").certificate
    config = MappingConfig(True, one_to_one=(OneToOne(alice.der, "alice"),))
    assert map_identity(config, alice).identity == "alice"
    assert map_identity(config, renewed).permission is None  # a renewal does not match (IIS)
    off = MappingConfig(True, one_to_one=(OneToOne(alice.der, "alice", enabled=False),))
    assert map_identity(off, alice).permission is None
    globally_off = MappingConfig(True, one_to_one_enabled=False, one_to_one=config.one_to_one)
    assert map_identity(globally_off, alice).permission is None


def test_many_to_one_wildcards_case_and_first_match(tree: dict[str, Issued]) -> None:
    alice = tree["alice"].certificate
    finance = ManyToOne("finance", "fin", (_rule("Subject", "OU", "Fin*"),))
    issuer = ManyToOne("issuer", "iss", (_rule("Issuer", "CN", "contoso issuing ca *", False),))
    strict = ManyToOne("strict", "s", (_rule("Issuer", "CN", "contoso issuing ca *"),))
    both = ManyToOne("both", "b", (_rule("Subject", "C", "US"), _rule("Subject", "CN", "*Smith")))
    deny = ManyToOne("deny", "", (_rule("Subject", "O", "Contoso"),), Permission.DENY)
    assert map_identity(MappingConfig(True, many_to_one=(finance, deny)), alice).identity == "fin"
    result = map_identity(MappingConfig(True, many_to_one=(deny, finance)), alice)
    assert (result.permission, result.identity, result.rule) == (
        Permission.DENY,
        None,
        "many-to-one:deny",
    )
    assert map_identity(MappingConfig(True, many_to_one=(issuer,)), alice).identity == "iss"
    assert map_identity(MappingConfig(True, many_to_one=(strict,)), alice).permission is None
    assert map_identity(MappingConfig(True, many_to_one=(both,)), alice).identity == "b"
    partial = ManyToOne("p", "p", (_rule("Subject", "C", "US"), _rule("Subject", "CN", "Bob*")))
    assert map_identity(MappingConfig(True, many_to_one=(partial,)), alice).permission is None
    disabled = ManyToOne("f", "f", finance.rules, enabled=False)
    assert map_identity(MappingConfig(True, many_to_one=(disabled,)), alice).permission is None


def test_wildcards_are_literal_otherwise(tree: dict[str, Issued]) -> None:
    alice = tree["alice"].certificate
    dotted = ManyToOne("d", "d", (_rule("Subject", "CN", "Alice.Smith"),))
    assert map_identity(MappingConfig(True, many_to_one=(dotted,)), alice).permission is None


@pytest.mark.parametrize(
    ("kind", "pattern", "identity"),
    [
        (SanType.SPIFFE, "spiffe://contoso.test/ns/pay/*", "spiffe://contoso.test/ns/pay/sa/api"),
        (SanType.URI, "https://contoso.test/*", "https://contoso.test/alice"),
        (SanType.DNS, "*.CONTOSO.test", "alice.contoso.test"),
        (SanType.EMAIL, "alice@contoso.test", "Alice@Contoso.test"),
        (SanType.UPN, "*@corp.contoso.test", "alice@corp.contoso.test"),
    ],
)
def test_san_rules(tree: dict[str, Issued], kind: SanType, pattern: str, identity: str) -> None:
    alice = tree["alice"].certificate
    rule = SanRule("r", kind, pattern)
    assert map_identity(MappingConfig(True, san=(rule,)), alice).identity == identity
    named = SanRule("r", kind, pattern, user="svc")
    assert map_identity(MappingConfig(True, san=(named,)), alice).identity == "svc"
    sensitive = SanRule("r", kind, pattern.swapcase(), case_sensitive=True)
    assert map_identity(MappingConfig(True, san=(sensitive,)), alice).permission is None


def test_spiffe_rule_ignores_other_uris(tree: dict[str, Issued]) -> None:
    rule = SanRule("r", SanType.SPIFFE, "https://*")
    assert map_identity(MappingConfig(True, san=(rule,)), tree["alice"].certificate).rule == ""


def test_locations_deepest_prefix_case_insensitive() -> None:
    policy = Policy(
        locations=(
            Location("/"),
            Location("/api", ClientCertMode.ACCEPT),
            Location("/api/public", ClientCertMode.IGNORE),
        )
    )
    assert policy.location_for("/").client_cert is ClientCertMode.REQUIRE
    assert policy.location_for("/API/x").client_cert is ClientCertMode.ACCEPT
    assert policy.location_for("/api/public/x").client_cert is ClientCertMode.IGNORE
    assert policy.location_for("/api/publicity").client_cert is ClientCertMode.ACCEPT
    assert policy.location_for("/apis").client_cert is ClientCertMode.REQUIRE


def _chain(issued: Issued) -> list[bytes]:
    return [c.der for c in issued.chain()]


def test_judge_requirements(tree: dict[str, Issued], now: datetime) -> None:
    trusted = machine([tree["root"]], [tree["issuing"]])
    alice = tree["alice"]
    base = Policy(engine="rfc5280", machine=trusted)
    assert judge_once(base, "/", _chain(alice), now).allowed
    wrong_eku = tree["issuing"].client("CN=srv", eku=(SERVER_AUTH,))
    assert judge_once(base, "/", _chain(wrong_eku), now).code == "wrong-eku"
    cases = {
        "required-eku-missing": Policy(machine=trusted, required_eku=("1.3.6.1.5.5.7.3.4",)),
        "issuer-not-allowed": Policy(
            machine=trusted, allowed_issuers=(_name("CN=Other CA,O=Contoso"),)
        ),
        "pin-mismatch": Policy(machine=trusted, pins=frozenset({"00" * 32})),
    }
    for code, policy in cases.items():
        decision = judge_once(policy, "/", _chain(alice), now)
        assert (decision.code, decision.iis_status) == (code, "403.16")
    leaf = alice.certificate
    for good in (
        Policy(machine=trusted, allowed_issuers=(_name("CN=contoso issuing ca 02,O=Contoso"),)),
        Policy(machine=trusted, pins=frozenset({leaf.spki_sha256})),
        Policy(machine=trusted, pins=frozenset({leaf.sha256})),
        Policy(machine=trusted, required_eku=("1.3.6.1.5.5.7.3.2",)),
    ):
        assert judge_once(good, "/", _chain(alice), now).allowed


def _name(text: str) -> Name:
    from cryptography import x509

    return Name.from_cryptography(x509.Name.from_rfc4514_string(text))


@pytest.mark.parametrize("engine", ["windows", "openssl", "rfc5280"])
def test_each_engine_maps_to_iis_answers(
    tree: dict[str, Issued], pki: PKI, now: datetime, engine: str
) -> None:
    trusted = machine([tree["root"]], [tree["issuing"]])
    policy = Policy(engine=engine, machine=trusted)
    expired = tree["issuing"].client("CN=old", expired=True)
    stranger = pki.root("CN=Elsewhere").client("CN=x")
    assert judge_once(policy, "/", _chain(tree["alice"]), now).iis_status == "200"
    old = judge_once(policy, "/", _chain(expired), now)
    assert (old.iis_status, old.hresult_hex) == ("403.17", "0x800B0101")
    untrusted = judge_once(policy, "/", [stranger.der, stranger.issuer.der], now)  # type: ignore[union-attr]
    assert (untrusted.iis_status, untrusted.hresult_hex) == ("403.16", "0x800B0109")
    assert (
        untrusted.explain
        == {
            "windows": "hresult:CERT_E_UNTRUSTEDROOT",
            "openssl": "openssl:X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN",
            "rfc5280": "certgate:untrusted-root",
        }[engine]
    )


def test_garbage_fails_closed(now: datetime) -> None:
    decision = judge_once(Policy(), "/", [b"\x30\x03\x02\x01\x00"], now)
    assert (decision.iis_status, decision.code) == ("403.16", GateCode.INTERNAL_ERROR.value)
    assert decision.hresult_hex == "0x800B010B"


def test_cache_hits_and_validity_boundaries(tree: dict[str, Issued], now: datetime) -> None:
    alice = tree["alice"]
    judge = Judge(Policy(machine=machine([tree["root"]], [tree["issuing"]])))
    chain = tuple(_chain(alice))
    first = judge.certificate(chain, now)
    again = judge.certificate(chain, now + timedelta(seconds=1))
    assert first is again and (judge.hits, judge.misses) == (1, 1)
    after_expiry = alice.x509.not_valid_after_utc + timedelta(seconds=1)
    expired = judge.certificate(chain, after_expiry)
    assert first.allowed and expired.iis_status == "403.17"
    assert judge.misses == 2
    earlier = judge.certificate(chain, now - timedelta(seconds=1))  # clock went back
    assert earlier.allowed and judge.misses == 3


def test_denial_bodies(tree: dict[str, Issued], pki: PKI, now: datetime) -> None:
    stranger = pki.root("CN=Elsewhere").client("CN=x")
    decision = judge_once(Policy(), "/", [stranger.der], now)
    kind, body = denial_body(decision, AnswerFormat.JSON)
    document = json.loads(body)
    assert kind == "application/json" and document["schema"] == "certgate.denial/1"
    assert document["certificate"]["sha1"] == stranger.sha1
    assert document["explain_command"] == f"certgate explain {decision.explain}"
    kind, html = denial_body(decision, AnswerFormat.AUTO, "text/html,application/xhtml+xml")
    assert kind.startswith("text/html") and b"<h1>403 Forbidden (403.16)</h1>" in html
    assert denial_body(decision, AnswerFormat.AUTO, "*/*")[0] == "application/json"


def test_header_values_are_one_safe_line() -> None:
    assert header_safe("a\r\nInjected: yes\u00e9") == "a Injected: yes?"
    assert len(header_safe("x" * 1000)) == 300


def test_identity_headers(tree: dict[str, Issued], now: datetime) -> None:
    rule = SanRule("upn", SanType.UPN, "*")
    policy = Policy(
        machine=machine([tree["root"]], [tree["issuing"]]),
        mapping=MappingConfig(True, san=(rule,)),
    )
    decision = judge_once(policy, "/", _chain(tree["alice"]), now)
    headers = dict(identity_headers(decision))
    assert headers["Certgate-Identity"] == "alice@corp.contoso.test"
    assert headers["Certgate-Client-San-upn"] == "alice@corp.contoso.test"
    assert headers["Certgate-Client-Cert"].startswith("-----BEGIN%20CERTIFICATE-----%0A")
    anonymous = judge_once(
        Policy(locations=(Location("/", ClientCertMode.ACCEPT),)), "/", None, now
    )
    assert dict(identity_headers(anonymous)) == {"Certgate-Client-Verify": "NONE"}


def test_every_gate_code_and_explain_id_is_in_the_knowledge_base(
    tree: dict[str, Issued], pki: PKI, now: datetime
) -> None:
    for code in GateCode:
        assert describe(f"certgate:{code.value}") is not None, code
    trusted = machine([tree["root"]], [tree["issuing"]])
    deny_all = MappingConfig(
        True, many_to_one=(ManyToOne("d", "", (_rule("Subject", "CN", "*"),), Permission.DENY),)
    )
    nobody = MappingConfig(True, many_to_one=(ManyToOne("n", "n", (_rule("Subject", "CN", "x"),)),))
    policies = [
        Policy(machine=trusted, mapping=deny_all),
        Policy(
            machine=trusted,
            mapping=nobody,
            locations=(Location("/", ClientCertMode.REQUIRE, True),),
        ),
        Policy(machine=trusted, pins=frozenset({"00" * 32})),
        Policy(),
    ]
    chains = [
        _chain(tree["alice"]),
        None,
        [b"junk"],
        _chain(tree["issuing"].client("CN=o", expired=True)),
    ]
    for policy in policies:
        for chain in chains:
            decision = judge_once(policy, "/", chain, now)
            if not decision.allowed:
                assert describe(decision.explain) is not None, decision.explain
                document = json.loads(denial_body(decision, AnswerFormat.JSON)[1])
                assert document["explanation"] == describe(decision.explain)
