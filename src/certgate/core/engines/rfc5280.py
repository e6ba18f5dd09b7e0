"""The ``rfc5280`` engine: strict path validation, in agreement with ``cryptography``'s verifier.

Semantics follow ``cryptography.x509.verification`` (client verifier, SAN optional) so the two
agree on every case that verifier can judge: every certificate in Root is a trust anchor (a
partial chain is fine), SHA-1/MD5 signatures are refused, a leaf EKU must name the purpose
(anyExtendedKeyUsage alone is not enough), CA constraints apply to the anchor too. Unlike that
verifier, it says *why*: a missing intermediate and an untrusted root get different codes, and
it checks revocation from the CRLs it is given.
"""

from __future__ import annotations

from functools import cache

from certgate.core.checks import Profile, Purpose
from certgate.core.codes import CheckCode
from certgate.core.engines._base import Caveat, Confidence, JudgedPath, Verdict, VerifyRequest
from certgate.core.engines._judge import any_valid, judge_all
from certgate.core.engines._registry import Engine, register
from certgate.core.paths import CertIndex, PathEnd, PoolPart
from certgate.core.revocation import RevocationPolicy
from certgate.core.stores import CA, ROOT, Machine

__all__ = ["EMITTED", "ENGINE", "NAME", "accepts", "judge"]

NAME = "rfc5280"
EMITTED = frozenset(code.value for code in CheckCode if code is not CheckCode.NO_CERTIFICATE)

_END_CODES = {
    PathEnd.UNTRUSTED_ROOT: CheckCode.UNTRUSTED_ROOT,
    PathEnd.MISSING_ISSUER: CheckCode.MISSING_ISSUER,
    PathEnd.TOO_LONG: CheckCode.PATH_BUDGET_EXCEEDED,
}
_ANCHORS = Caveat(
    Confidence.CONFIRMED,
    "every certificate in Root is a trust anchor, as in cryptography's verifier",
)


def profile_for(request: VerifyRequest) -> Profile:
    return _profile(request.purpose, request.require_revocation)


@cache
def _profile(purpose: Purpose, require_revocation: bool) -> Profile:
    policy = RevocationPolicy.REQUIRED if require_revocation else RevocationPolicy.IF_AVAILABLE
    return Profile(purpose=purpose, revocation=policy)


def _inputs(request: VerifyRequest) -> tuple[list[PoolPart], CertIndex]:
    """The client's chain then the CA store; Root's anchors. Store indexes are built once, and
    found once per machine."""
    ca, root = request.machine.derived(_STORES, _stores)
    return [*request.chain, ca], root


_STORES = "rfc5280: CA and Root indexes"


def _stores(machine: Machine) -> tuple[CertIndex, CertIndex]:
    return machine.store(CA).index, machine.store(ROOT).index


def judge(request: VerifyRequest) -> Verdict:
    pool, anchors = _inputs(request)
    paths, exhausted = judge_all(request, pool, anchors, profile_for(request))
    caveats = (_ANCHORS,)
    if not paths:
        return Verdict(
            NAME,
            False,
            CheckCode.PATH_BUDGET_EXCEEDED.value,
            "the path budget allowed no path",
            exhausted=True,
        )
    best = paths[0]
    code, message = outcome(best, exhausted)
    return Verdict(
        NAME,
        code is CheckCode.OK,
        code.value,
        message,
        best.certificates,
        best.failures + best.warnings,
        tuple(paths),
        caveats,
        exhausted,
    )


def accepts(request: VerifyRequest) -> bool:
    pool, anchors = _inputs(request)
    return any_valid(request, pool, anchors, profile_for(request)) is not None


def outcome(path: JudgedPath, exhausted: bool = False) -> tuple[CheckCode, str]:
    top = path.certificates[-1]
    if path.valid:
        return CheckCode.OK, f"valid chain of {len(path.certificates)} to anchor {top.label}"
    if path.end is not PathEnd.ANCHORED:
        code = _END_CODES[path.end]
        return code, _end_message(path, exhausted)
    failure = path.failures[0]
    return failure.code, failure.message


def _end_message(path: JudgedPath, exhausted: bool) -> str:
    top = path.certificates[-1]
    suffix = " (the path budget stopped the search)" if exhausted else ""
    if path.end is PathEnd.UNTRUSTED_ROOT:
        return f"the chain ends at {top.label}, which is self-issued but not a trust anchor{suffix}"
    if path.end is PathEnd.MISSING_ISSUER:
        return (
            f"no issuer found for {top.label} (issuer {top.issuer}): "
            f"a missing intermediate or root{suffix}"
        )
    return f"the chain is longer than the path budget allows{suffix}"


ENGINE = register(Engine(NAME, judge, accepts, CheckCode.INTERNAL_ERROR.value, EMITTED, order=2))
