"""The diagnosis rules' registry: a rule is refused at registration when its id is taken, is
not its function's name, or it has no docstring; rules yield typed claims and a failing rule
is an error, never a claim."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from certgate.core.doctor import (
    DIAGNOSIS_RULES,
    Claim,
    DiagnosisRegistry,
    DoctorContext,
    Strength,
)
from certgate.core.stores import Machine

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _claim(key: str = "") -> Claim:
    return Claim("a summary", (), frozenset({"iis:403.16"}), (), Strength.PROVEN, key=key)


def test_a_duplicate_id_is_refused() -> None:
    registry = DiagnosisRegistry()

    @registry.rule("cause::store-empty", title="The store is empty")
    def store_empty(ctx: DoctorContext) -> Iterator[Claim]:
        """First."""
        yield _claim()

    with pytest.raises(ValueError, match="rule cause::store-empty is registered twice"):

        @registry.rule("cause::store-empty", title="Again")
        def store_empty(ctx: DoctorContext) -> Iterator[Claim]:
            """Second."""
            yield _claim()

    assert [r.title for r in registry] == ["The store is empty"]


def test_an_id_not_named_after_its_function_is_refused() -> None:
    registry = DiagnosisRegistry()
    with pytest.raises(ValueError, match=r"cause::store-empty is defined by empty_store\(\)"):

        @registry.rule("cause::store-empty", title="The store is empty")
        def empty_store(ctx: DoctorContext) -> Iterator[Claim]:
            """Misnamed."""
            yield _claim()

    assert len(registry) == 0


def test_a_rule_without_a_docstring_is_refused() -> None:
    registry = DiagnosisRegistry()
    with pytest.raises(ValueError, match="needs a docstring: it is the explanation"):

        @registry.rule("cause::store-empty", title="The store is empty")
        def store_empty(ctx: DoctorContext) -> Iterator[Claim]:
            yield _claim()

    assert "cause::store-empty" not in registry


@pytest.mark.parametrize(
    ("rule_id", "title", "message"),
    [
        ("store-empty", "t", "not of the form family::name"),
        ("cause::Store_Empty", "t", "not of the form family::name"),
        ("root::store-empty", "t", "is not of the family cause::"),
        ("cause::store-empty", " ", "needs a title"),
    ],
)
def test_malformed_ids_and_titles_are_refused(rule_id: str, title: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DiagnosisRegistry().rule(rule_id, title=title)


def test_a_rule_yields_claims_and_a_failing_rule_is_an_error() -> None:
    registry = DiagnosisRegistry()

    @registry.rule("cause::two-stores", title="Two stores", references=("KB 2802568",))
    def two_stores(ctx: DoctorContext) -> Iterator[Claim]:
        """Yields one claim per store."""
        yield _claim("Root")
        yield _claim("CA")

    @registry.rule("cause::half-done", title="Half done")
    def half_done(ctx: DoctorContext) -> Iterator[Claim]:
        """Yields, then fails: what it yielded is not trusted either."""
        yield _claim()
        raise KeyError("x")

    ctx = DoctorContext(Machine(), NOW, (), ())
    ok, failed = registry.run(ctx)
    assert [c.key for c in ok.claims] == ["Root", "CA"] and ok.error == ""
    assert ok.rule.explanation == "Yields one claim per store."
    assert ok.rule.references == ("KB 2802568",)
    assert failed.claims == ()
    assert failed.error == "internal error while checking, result unknown: KeyError: 'x'"


def test_every_shipped_rule_is_named_after_its_function() -> None:
    assert len(DIAGNOSIS_RULES) >= 12
    for rule in DIAGNOSIS_RULES:
        assert rule.id == "cause::" + rule.check.__name__.replace("_", "-")
        assert rule.title and rule.explanation
