"""The engines' one registry: each engine module registers itself once, with everything the
rest of certgate needs to know about it (``core/engines/__init__.py``, the CLI's
``--engine`` choices, the gate policy's ``trust.engine`` and the KB completeness test read it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from certgate.core.engines._base import Verdict, VerifyRequest

__all__ = ["Engine", "register", "registered"]


@dataclass(frozen=True)
class Engine:
    """A trust engine: ``judge`` explains, ``accepts`` is the gate's fast yes/no (same answer);
    ``internal_code`` is the rejecting code when the engine itself fails (fail closed);
    ``emitted`` every code ``judge`` can return; ``order`` places it in listings and in
    ``certgate verify``'s output (Windows first: it is the one certgate exists to explain)."""

    name: str
    judge: Callable[[VerifyRequest], Verdict]
    accepts: Callable[[VerifyRequest], bool]
    internal_code: str
    emitted: frozenset[str]
    order: int

    def __post_init__(self) -> None:
        if self.internal_code not in self.emitted:
            raise ValueError(f"engine {self.name}: {self.internal_code} is not in its codes")


_ENGINES: dict[str, Engine] = {}


def register(engine: Engine) -> Engine:
    """Add ``engine``; a name registered twice is a ``ValueError``."""
    if engine.name in _ENGINES:
        raise ValueError(f"engine {engine.name} is registered twice")
    _ENGINES[engine.name] = engine
    return engine


def registered() -> tuple[Engine, ...]:
    """Every engine, by ``order`` (windows, openssl, rfc5280)."""
    return tuple(sorted(_ENGINES.values(), key=lambda engine: engine.order))
