"""Trust engines: judge one client chain as Windows, OpenSSL and RFC 5280 would.

Entry points::

    verify(request, engines=("windows", "openssl", "rfc5280")) -> dict[str, Verdict]
    verify_fast(leaf, chain, machine, *, engine, purpose, at, crls) -> bool

``EMITTED_CODES`` lists every ``code`` each engine can return (and, under ``checks``, every
per-check code), so the knowledge base can be checked for completeness: windows codes are
HRESULT names (KB ``hresult:<name>``), openssl codes ``X509_V_*`` names (``openssl:<name>``),
rfc5280 and check codes ``CheckCode`` values (``certgate:<code>``).

Fail closed: an exception inside an engine becomes a rejecting verdict with the engine's
internal-error code, never an accept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from types import MappingProxyType

from cryptography import x509

from certgate.core.checks import Purpose
from certgate.core.codes import CheckCode
from certgate.core.engines import openssl, rfc5280, windows  # noqa: F401 (each registers itself)
from certgate.core.engines._base import (
    Caveat,
    Confidence,
    JudgedPath,
    OpenSSLDetail,
    Verdict,
    VerifyRequest,
    WindowsDetail,
)
from certgate.core.engines._registry import Engine, registered
from certgate.core.model import Certificate
from certgate.core.stores import Machine

__all__ = [
    "EMITTED_CODES",
    "ENGINES",
    "Caveat",
    "Confidence",
    "Engine",
    "JudgedPath",
    "OpenSSLDetail",
    "Purpose",
    "Verdict",
    "VerifyRequest",
    "WindowsDetail",
    "accepts",
    "verify",
    "verify_fast",
]

JudgeFn = Callable[[VerifyRequest], Verdict]
_REGISTERED = {engine.name: engine for engine in registered()}  # windows, openssl, rfc5280
ENGINES: MappingProxyType[str, JudgeFn] = MappingProxyType(
    {name: engine.judge for name, engine in _REGISTERED.items()}
)
EMITTED_CODES: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        **{name: engine.emitted for name, engine in _REGISTERED.items()},
        "checks": frozenset(code.value for code in CheckCode),
    }
)


def verify(request: VerifyRequest, engines: Iterable[str] = tuple(ENGINES)) -> dict[str, Verdict]:
    """Run each named engine on ``request``; unknown names are a ``ValueError``."""
    chosen = list(engines)
    unknown = [name for name in chosen if name not in ENGINES]
    if unknown:
        raise ValueError(f"unknown engine(s) {unknown}; have {sorted(ENGINES)}")
    return {name: _guarded(name, request) for name in chosen}


def _guarded(name: str, request: VerifyRequest) -> Verdict:
    try:
        return ENGINES[name](request)
    except Exception as exc:  # fail closed: a crash in a check is a reject with a reason
        message = f"internal error in the {name} engine: {type(exc).__name__}: {exc}"
        return Verdict(name, False, _REGISTERED[name].internal_code, message, (request.leaf,))


def verify_fast(
    leaf: Certificate,
    chain: Sequence[Certificate],
    machine: Machine,
    *,
    engine: str = rfc5280.NAME,
    purpose: Purpose = Purpose.CLIENT,
    at: datetime,
    crls: Sequence[x509.CertificateRevocationList] = (),
    partial_chain: bool = False,
    require_revocation: bool = False,
) -> bool:
    """Accept or reject only: no explanation, each path abandoned at its first failure.

    For the gate's hot path. Same semantics as ``verify(...)[engine].accepted``; any internal
    error rejects.
    """
    request = VerifyRequest(
        leaf,
        tuple(chain),
        machine,
        purpose,
        at,
        tuple(crls),
        partial_chain=partial_chain,
        require_revocation=require_revocation,
    )
    return accepts(request, engine)


def accepts(request: VerifyRequest, engine: str = rfc5280.NAME) -> bool:
    """``verify_fast`` for a request already built (the gate explains rejections with it)."""
    registered_engine = _REGISTERED.get(engine)
    if registered_engine is None:
        raise ValueError(f"unknown engine {engine!r}; have {sorted(ENGINES)}")
    try:
        return registered_engine.accepts(request)
    except Exception:  # fail closed
        return False
