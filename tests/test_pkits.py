"""NIST PKITS (cryptography_vectors) through the rfc5280 and openssl engines: every case not on
the skip list must agree with PKITS's expected outcome, and docs/pkits.md must show the
current agreement table."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkits_suite import ENGINES, Outcome, cases, disagreements, run_all, table

DOC = Path(__file__).parent.parent / "docs" / "pkits.md"


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    return run_all()


def test_suite_is_complete() -> None:
    found = cases()
    assert len(found) == 223  # every *EE.crt in PKITS_data/certs
    assert {c.section for c in found} == {f"4.{n}" for n in range(1, 17)}


@pytest.mark.parametrize("engine", ENGINES)
def test_every_run_case_agrees(outcomes: list[Outcome], engine: str) -> None:
    wrong = [(o.case.name, o.code) for o in disagreements(outcomes) if o.engine == engine]
    assert wrong == []
    ran = [o for o in outcomes if o.engine == engine and not o.skipped]
    assert len(ran) >= 100


def test_every_skip_has_a_reason(outcomes: list[Outcome]) -> None:
    skipped = [o for o in outcomes if o.skipped]
    assert all(len(o.skipped) > 20 for o in skipped)


def test_negative_control_a_wrong_expectation_is_caught(outcomes: list[Outcome]) -> None:
    """The harness can fail: flip one expectation and it disagrees."""
    ran = next(o for o in outcomes if not o.skipped and o.engine == "rfc5280")
    flipped = Outcome(
        type(ran.case)(ran.case.name, ran.case.section, not ran.case.expected),
        ran.engine,
        "",
        ran.accepted,
        ran.code,
    )
    assert not flipped.agrees


def test_docs_record_the_current_table(outcomes: list[Outcome]) -> None:
    assert table(outcomes) in DOC.read_text(encoding="utf-8")
