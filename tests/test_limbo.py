"""x509-limbo through the rfc5280, windows and openssl engines, next to cryptography's verifier.

Every pinned case runs (harness: tests/limbo_suite.py). Each engine's disagreements with limbo
must be exactly its known list, each with a reason; no case may crash; the rfc5280 engine must
agree with limbo at least as often as cryptography's verifier on the same cases; and
docs/conformance.md must show the current tables.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from limbo_suite import (
    COLUMNS,
    DATA,
    DIFFERENT,
    REFERENCE,
    SKIPS,
    Case,
    Outcome,
    cases,
    disagreements,
    pinned,
    render,
    run_all,
    run_case,
)

ROOT = Path(__file__).parent.parent


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    return run_all()


def test_pinned_data_names_its_source_and_licence() -> None:
    source = pinned()["source"]
    assert source["repository"] == "https://github.com/C2SP/x509-limbo"
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    assert "Apache License" in (DATA.parent / "LICENSE").read_text(encoding="utf-8")
    assert source["commit"] in (DATA.parent / "README.md").read_text(encoding="utf-8")
    assert DATA.stat().st_size < 4 * 1024 * 1024


def test_pinned_data_holds_client_crl_and_host_name_free_server_cases() -> None:
    found = cases()
    assert len(found) == 194
    assert sum(c.kind == "CLIENT" for c in found) == 10
    assert sum(bool(c.raw["crls"]) for c in found) == 8
    assert all("description" not in c.raw for c in found)
    excluded = pinned()["excluded"]
    assert len(excluded) == 14
    assert all(e["reason"].startswith("host-name check") for e in excluded)


@pytest.mark.parametrize("engine", sorted(DIFFERENT))
def test_disagreements_are_exactly_the_known_ones(outcomes: list[Outcome], engine: str) -> None:
    found = disagreements(outcomes, engine)
    known = DIFFERENT[engine]
    unexpected = {i: f"{o.code}: {o.message[:120]}" for i, o in found.items() if i not in known}
    assert unexpected == {}, "new disagreements with limbo"
    now_agree = sorted(set(known) - set(found))
    assert now_agree == [], "these now agree: drop them from DIFFERENT in limbo_suite.py"


def test_no_engine_crashes(outcomes: list[Outcome]) -> None:
    crashed = [(o.engine, o.case.id, o.message[:120]) for o in outcomes if o.crashed]
    assert crashed == []


def test_skipped_crashes_still_crash() -> None:
    """A crash skip lasts only until the fix lands: then this fails, and the skip goes."""
    by_id = {c.id: c for c in cases()}
    for engine, rows in SKIPS.items():
        for case_id, reason in rows.items():
            if reason.startswith("crash"):
                names = [e for e in COLUMNS if e != REFERENCE] if engine == "*" else [engine]
                outcomes = [run_case(by_id[case_id], name, skips=False) for name in names]
                assert any(o.crashed for o in outcomes), f"{case_id} no longer crashes: unskip it"


def test_rfc5280_agrees_at_least_as_often_as_cryptography(outcomes: list[Outcome]) -> None:
    ran = {o.case.id for o in outcomes if o.engine == "rfc5280" and not o.skipped}
    mine = sum(o.agrees for o in outcomes if o.engine == "rfc5280")
    reference = sum(o.agrees for o in outcomes if o.engine == REFERENCE and o.case.id in ran)
    assert mine >= reference
    assert len(ran) >= 180


def test_every_skip_and_difference_names_a_pinned_case_and_a_reason() -> None:
    ids = {c.id for c in cases()}
    listed = [*SKIPS.values(), *DIFFERENT.values()]
    assert all(
        case_id in ids and len(reason) > 40 for rows in listed for case_id, reason in rows.items()
    )
    skipped = {case_id for rows in SKIPS.values() for case_id in rows}
    assert not skipped & {case_id for rows in DIFFERENT.values() for case_id in rows}


def test_negative_control_a_wrong_expectation_is_caught(outcomes: list[Outcome]) -> None:
    ran = next(o for o in outcomes if o.engine == "rfc5280" and o.agrees)
    case = ran.case
    flipped = Case(case.id, case.kind, not case.expected, case.features, case.importance, case.raw)
    assert not Outcome(flipped, ran.engine, "", ran.accepted, ran.code).agrees


def test_extractor_keeps_what_certgate_judges_and_says_why_it_drops_the_rest() -> None:
    extract = _tool("limbo_extract").extract
    with gzip.open(DATA, "rt", encoding="utf-8") as text:
        data: dict[str, Any] = json.load(text)
    by_id = {c["id"]: c for c in data["testcases"]}
    server = by_id["webpki::san::exact-dns-san"]  # SAN example.com, peer example.com
    wildcard = by_id["webpki::san::leftmost-wildcard-san"]  # SAN *.example.com
    renamed = {**server, "id": "x::renamed", "expected_peer_name": {"kind": "DNS", "value": "a.b"}}
    deep = {
        **wildcard,
        "id": "x::wild",
        "expected_peer_name": {"kind": "DNS", "value": "a.b.example.com"},
    }
    client = next(c for c in data["testcases"] if c["validation_kind"] == "CLIENT")
    limbo = {"version": 1, "testcases": [server, wildcard, renamed, deep, client]}
    out = extract(limbo, "0" * 40)
    assert [c["id"] for c in out["testcases"]] == [server["id"], wildcard["id"], client["id"]]
    assert [e["id"] for e in out["excluded"]] == ["x::renamed", "x::wild"]
    assert "'a.b'" in out["excluded"][0]["reason"]


def test_docs_record_the_current_tables(outcomes: list[Outcome]) -> None:
    doc = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    assert render(outcomes) in doc, "stale: run .venv/bin/python tools/limbo_conformance.py"
    assert all(f"{engine} agree / run" in doc for engine in COLUMNS)
