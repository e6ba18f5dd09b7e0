"""Engines register themselves once; the CLI, the gate policy and the KB checks read that."""

from __future__ import annotations

import pytest

from certgate.cli.verify import command as verify_command
from certgate.core.engines import EMITTED_CODES, ENGINES, Engine, rfc5280, windows
from certgate.core.engines._registry import register, registered
from certgate.core.gate.policy import Policy


def test_every_reader_sees_the_registered_engines() -> None:
    names = [engine.name for engine in registered()]
    assert names == ["windows", "openssl", "rfc5280"]
    assert list(ENGINES) == names
    assert [Policy(engine=name).engine for name in names] == names  # the gate policy reads it
    assert [k for k in EMITTED_CODES if k != "checks"] == names
    choices = next(p for p in verify_command.params if p.name == "engine").type
    assert list(getattr(choices, "choices", ())) == [*names, "all"]
    for engine in registered():
        assert engine.internal_code in engine.emitted == EMITTED_CODES[engine.name]
    with pytest.raises(ValueError, match="engine must be one of"):
        Policy(engine="schannel")


def test_an_engine_is_registered_once() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        register(windows.ENGINE)
    with pytest.raises(ValueError, match="not in its codes"):
        Engine("x", rfc5280.judge, rfc5280.accepts, "NOPE", frozenset({"OK"}), order=9)
