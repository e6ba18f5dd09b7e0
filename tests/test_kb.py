"""The knowledge base as data: complete, well-formed, consistent, and covering every code."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from importlib import resources
from typing import Any

import pytest

from certgate.core.codes import (
    CERT_TRUST_ERRORS,
    CERT_TRUST_INFO,
    FAMILIES,
    HRESULTS,
    TLS_ALERTS,
    WCF_TRACE_CODES,
    X509_V_ERRORS,
    X509_V_MESSAGES,
    CheckCode,
    kb_id,
    x509_v_name,
)
from certgate.core.kb import (
    Confidence,
    Entry,
    KnowledgeBase,
    Reference,
    describe,
    knowledge_base,
)
from certgate.core.kb._load import load_entries, parse_family

KB = knowledge_base()
KNOWN_REFERENCE_KINDS = {"kb", "rfc", "url", "github", "man", "project"}


_ENGINE_FAMILIES = {"windows": "hresult", "openssl": "openssl", "rfc5280": "certgate"}


def _engine_codes() -> set[str]:
    """Every code a trust engine can emit, as knowledge-base ids (``checks`` are CheckCodes)."""
    from certgate.core.engines import EMITTED_CODES

    return {
        kb_id(_ENGINE_FAMILIES.get(engine, "certgate"), code)
        for engine, codes in EMITTED_CODES.items()
        for code in codes
    }


REQUIRED = (
    {kb_id("certgate", code.value) for code in CheckCode}
    | {kb_id("hresult", name) for name in HRESULTS}
    | {kb_id("openssl", name) for name in X509_V_ERRORS}
    | {kb_id("tls-alert", number) for number in TLS_ALERTS}
    | {kb_id("cert-trust", name) for name in {**CERT_TRUST_ERRORS, **CERT_TRUST_INFO}}
    | {kb_id("wcf", name) for name in WCF_TRACE_CODES}
    | {kb_id("schannel", event) for event in range(36867, 36890)}
    | {kb_id("capi2", event) for event in (11, 30, 90)}
    | {kb_id("iis", c) for c in ("403.4", "403.5", "403.7", "403.12", "403.13", "403.16")}
    | {kb_id("iis", c) for c in ("403.17", "401.1", "401.2", "500.19", "500.0")}
    | {kb_id("nginx", c) for c in ("495", "496", "497", "ssl_client_verify")}
    | {kb_id("dotnet", c) for c in ("RemoteCertificateChainErrors", "PartialChain")}
    | _engine_codes()
)


def _missing(kb: KnowledgeBase) -> list[str]:
    return sorted(code for code in REQUIRED if code not in kb)


def test_every_code_the_engines_and_logs_can_produce_has_an_entry() -> None:
    assert _missing(KB) == []
    assert len(REQUIRED) > 280  # the set really was built


def test_the_completeness_check_notices_a_missing_entry() -> None:
    gone = "hresult:CERT_E_CHAINING"
    kept = [
        replace(entry, related=tuple(link for link in entry.related if link != gone))
        for entry in load_entries()
        if entry.id != gone
    ]
    assert _missing(KnowledgeBase(kept)) == [gone]


def test_every_entry_is_complete_and_well_formed() -> None:
    for entry in KB:
        assert entry.family in FAMILIES, entry.id
        assert entry.id == f"{entry.family}:{entry.code}"
        assert entry.summary and entry.meaning and entry.name, entry.id
        assert entry.causes and entry.fixes and entry.references, entry.id
        assert all(c.text and c.confirm for c in entry.causes), entry.id
        assert isinstance(entry.confidence, Confidence)
        assert "  " not in entry.meaning and "\n" not in entry.meaning, entry.id


def test_every_reference_is_a_known_form() -> None:
    kinds = Counter(ref.kind for entry in KB for ref in entry.references)
    assert set(kinds) <= KNOWN_REFERENCE_KINDS
    assert kinds["kb"] and kinds["rfc"] and kinds["url"] and kinds["github"]


@pytest.mark.parametrize(
    ("text", "kind", "url"),
    [
        ("KB 2802568", "kb", "https://support.microsoft.com/help/2802568"),
        ("RFC 8446 §6.2", "rfc", "https://www.rfc-editor.org/rfc/rfc8446#section-6.2"),
        ("RFC 5280", "rfc", "https://www.rfc-editor.org/rfc/rfc5280"),
        ("docs/windows-model.md#mixed-root", "project", None),
        ("man openssl-verify(1)", "man", None),
        (
            "github:nginx/nginx/src/http/ngx_http_request.c",
            "github",
            "https://github.com/nginx/nginx/blob/HEAD/src/http/ngx_http_request.c",
        ),
        ("https://nginx.org/en/docs/", "url", "https://nginx.org/en/docs/"),
    ],
)
def test_reference_forms(text: str, kind: str, url: str | None) -> None:
    reference = Reference.parse(text)
    assert (reference.kind, reference.url, str(reference)) == (kind, url, text)


@pytest.mark.parametrize(
    "text", ["see the internet", "KB2802568", "RFC", "http://insecure.example", "kb 2802568", ""]
)
def test_reference_in_an_unknown_form_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a known form"):
        Reference.parse(text)


def test_no_two_entries_claim_the_same_code() -> None:
    entries = list(KB)
    assert len({e.id for e in entries}) == len(entries)
    names = Counter((e.family, e.group, e.name.lower()) for e in entries)
    assert [key for key, n in names.items() if n > 1] == []
    values = Counter((e.family, e.group, e.value) for e in entries if e.value is not None)
    assert [key for key, n in values.items() if n > 1] == []


def test_related_links_resolve() -> None:
    assert all(link in KB for entry in KB for link in entry.related)
    assert sum(len(entry.related) for entry in KB) > 300


def test_numbers_come_from_the_shared_vocabulary() -> None:
    for name, value in HRESULTS.items():
        assert KB.get(f"hresult:{name}").value == value  # type: ignore[union-attr]
    for number, name in TLS_ALERTS.items():
        entry = KB.get(f"tls-alert:{number}")
        assert entry is not None and (entry.name, entry.value) == (name, number)
    for name, number in X509_V_ERRORS.items():
        entry = KB.get(f"openssl:{name}")
        assert entry is not None and entry.value == number
        assert set(X509_V_MESSAGES[name]) <= set(entry.messages)
    partial = KB.get("dotnet:PartialChain")
    assert partial is not None and partial.value == CERT_TRUST_ERRORS["CERT_TRUST_IS_PARTIAL_CHAIN"]
    assert KB.get("wcf:HttpsClientCertificateInvalid").value == 262159  # type: ignore[union-attr]


def test_shared_vocabulary_additions() -> None:
    assert x509_v_name(20) == "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"
    assert x509_v_name(79) == "X509_V_ERR_INVALID_CA"
    assert x509_v_name(4096) is None
    assert X509_V_ERRORS["X509_V_OK"] == 0
    assert "unable to get local issuer certificate" in X509_V_MESSAGES[x509_v_name(20) or ""]
    assert WCF_TRACE_CODES == {
        "HttpsClientCertificateInvalid": 262159,
        "HttpsClientCertificateNotPresent": 262160,
    }


def test_403_16_names_kb_2802568_among_its_causes() -> None:
    entry = KB.get("iis:403.16")
    assert entry is not None
    assert "KB 2802568" in entry.causes[0].text
    assert "CERT_E_UNTRUSTEDROOT" in entry.causes[0].text
    assert "hresult:CERT_E_UNTRUSTEDROOT" in entry.related
    assert "KB 2802568" in [str(r) for r in entry.references]


def test_describe_is_one_line() -> None:
    line = describe("hresult:CERT_E_UNTRUSTEDROOT")
    assert line is not None and line.startswith("CERT_E_UNTRUSTEDROOT (0x800B0109): ")
    assert "\n" not in line
    assert describe("iis:403.16") == "IIS 403.16: Client certificate is untrusted or invalid."
    assert (describe("schannel:36885") or "").startswith("Schannel event 36885: ")
    assert (describe("tls-alert:48") or "").startswith("unknown_ca (48): ")
    assert describe("hresult:NO_SUCH_THING") is None
    assert KB.describe("nope") is None


def test_entries_and_families() -> None:
    assert knowledge_base() is KB
    families = KB.families()
    assert list(families) == list(FAMILIES)
    assert sum(families.values()) == len(KB) == len(KB.entries())
    assert [e.id for e in KB.entries("capi2")] == ["capi2:11", "capi2:30", "capi2:90"]
    with pytest.raises(ValueError, match="unknown family"):
        KB.entries("windows")


def test_every_data_file_is_a_family() -> None:
    folder = resources.files("certgate.core.kb").joinpath("data")
    names = sorted(item.name for item in folder.iterdir() if item.name.endswith(".toml"))
    assert names == sorted(f"{family}.toml" for family in FAMILIES)


# -- the loader refuses malformed data (negative controls) ------------------------------------

GOOD = {
    "summary": "s",
    "meaning": "m",
    "causes": [{"text": "t", "confirm": "c"}],
    "fixes": ["f"],
    "references": ["KB 2802568"],
}


def _parse(family: str, key: str, **changes: Any) -> list[Entry]:
    raw = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    return list(parse_family(family, {"family": family, "confidence": "confirmed", key: raw}))


def test_a_good_entry_loads() -> None:
    (entry,) = _parse("hresult", "CERT_E_CHAINING")
    assert (entry.id, entry.value, entry.causes[0].confidence) == (
        "hresult:CERT_E_CHAINING",
        0x800B010A,
        Confidence.CONFIRMED,
    )
    assert dict(entry.forms)["low word"] == "0x10A"


@pytest.mark.parametrize(
    ("family", "key", "changes", "error"),
    [
        ("hresult", "CERT_E_NOT_A_CODE", {}, "CERT_E_NOT_A_CODE"),
        ("tls-alert", "not_an_alert", {}, "not_an_alert"),
        ("openssl", "X509_V_ERR_MADE_UP", {}, "X509_V_ERR_MADE_UP"),
        ("cert-trust", "CERT_TRUST_MADE_UP", {}, "not in codes"),
        ("certgate", "made-up", {}, "made-up"),
        ("iis", "403", {}, "status.substatus"),
        ("schannel", "100", {}, "outside"),
        ("apache", "02039", {}, "AH followed"),
        ("hresult", "CERT_E_CHAINING", {"causes": []}, "non-empty list"),
        ("hresult", "CERT_E_CHAINING", {"fixes": None}, "fixes"),
        ("hresult", "CERT_E_CHAINING", {"summary": "  "}, "empty"),
        ("hresult", "CERT_E_CHAINING", {"references": ["the web"]}, "not a known form"),
        ("hresult", "CERT_E_CHAINING", {"confidence": "sure"}, "sure"),
        ("hresult", "CERT_E_CHAINING", {"colour": "red"}, "unknown keys"),
        ("hresult", "CERT_E_CHAINING", {"causes": [{"text": "t"}]}, "confirm"),
        ("hresult", "CERT_E_CHAINING", {"related": "iis:403.16"}, "list of str"),
    ],
)
def test_malformed_entries_are_refused(
    family: str, key: str, changes: dict[str, Any], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        _parse(family, key, **changes)


def test_a_file_for_another_family_is_refused() -> None:
    with pytest.raises(ValueError, match="family = 'iis'"):
        list(parse_family("iis", {"family": "hresult", "confidence": "confirmed"}))


def test_the_base_refuses_duplicates_and_dangling_links() -> None:
    entries = load_entries()
    with pytest.raises(ValueError, match="same id"):
        KnowledgeBase([*entries, entries[0]])
    (orphan,) = _parse("hresult", "CERT_E_CHAINING", related=["hresult:NO_SUCH"])
    others = [e for e in entries if e.id != orphan.id]
    with pytest.raises(ValueError, match="unknown entries"):
        KnowledgeBase([*others, orphan])
    assert len(KnowledgeBase(entries)) == len(KB)


def test_the_compiled_copy_is_what_the_sources_give_now() -> None:
    """``data/compiled.json`` (what start-up reads) equals a fresh compile of the TOML sources
    with today's binders; when it does not: ``.venv/bin/python tools/compile_kb.py``."""
    from certgate.core.kb import _compiled

    shipped = resources.files("certgate.core.kb").joinpath("data", _compiled.COMPILED)
    fresh = _compiled.compile_entries(load_entries(), _compiled.sources_digest())
    assert shipped.read_text(encoding="utf-8") == fresh, "run tools/compile_kb.py"
    assert _compiled.load_compiled() == load_entries() == list(KB)


def test_a_compiled_copy_of_other_sources_is_not_used(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edited TOML file (digest differs), a missing or damaged copy: the TOML is read."""
    from certgate.core.kb import _compiled

    data = resources.files("certgate.core.kb").joinpath("data")
    for family in FAMILIES:
        (tmp_path / f"{family}.toml").write_bytes(data.joinpath(f"{family}.toml").read_bytes())
    compiled = data.joinpath(_compiled.COMPILED).read_text(encoding="utf-8")
    monkeypatch.setattr(_compiled, "_DATA", str(tmp_path))
    assert _compiled.load_compiled() is None  # missing
    (tmp_path / _compiled.COMPILED).write_text(compiled, encoding="utf-8")
    assert _compiled.load_compiled() == list(KB)
    with (tmp_path / "iis.toml").open("a", encoding="utf-8") as edited:
        edited.write("\n# an edit\n")
    assert _compiled.load_compiled() is None  # stale
    (tmp_path / "iis.toml").write_bytes(data.joinpath("iis.toml").read_bytes())
    for damaged in (compiled[:-100], compiled.replace('"format":1', '"format":2'), "[]"):
        (tmp_path / _compiled.COMPILED).write_text(damaged, encoding="utf-8")
        assert _compiled.load_compiled() is None
