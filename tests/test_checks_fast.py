"""The fast verdict (``checks.path_valid``, behind ``accepts``/``verify_fast``) is the explained
checks' verdict: on every candidate path of every x509-limbo case, under several profiles, it
fails exactly when ``path_checks`` has a failure, and spends the same signature and name
budget as ``path_checks(explain=False)`` consumed up to its first failure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from certgate.core.checks import CheckStatus, Profile, Work, path_checks, path_valid
from certgate.core.engines import VerifyRequest, accepts, verify
from certgate.core.model import Certificate
from certgate.core.paths import build_paths
from certgate.core.revocation import RevocationPolicy
from certgate.core.stores import ROOT
from certgate.errors import InputError
from limbo_suite import cases, request_for

PROFILES = (
    Profile(),  # rfc5280's
    Profile(revocation=RevocationPolicy.REQUIRED),
    Profile(  # lenient, as the windows engine is in places
        weak_signature_fatal=False,
        leaf_any_eku_ok=True,
        missing_basic_constraints_fatal=False,
        leaf_ca_fatal=False,
        check_anchor=False,
        strict_profile=False,
        stale_crl_proves_revocation=False,
        unusable_crl_fatal=True,
    ),
    Profile(check_usage=False, revocation=RevocationPolicy.OFF, known_extensions=frozenset()),
)


def _requests() -> list[VerifyRequest]:
    requests = []
    for case in cases():
        try:
            requests.append(request_for(case))
        except InputError:
            continue  # unreadable input: certgate verify refuses it before any check
    return requests


REQUESTS = _requests()


def _slow(
    request: VerifyRequest,
    path: tuple[Certificate, ...],
    anchored: bool,
    profile: Profile,
    disallowed: frozenset[Certificate],
) -> tuple[bool, Work]:
    """The explained verdict, and the work the old fast loop spent (stop at the first FAIL)."""
    at, crls = request.when, request.crls
    explained = list(path_checks(path, anchored, profile, at, crls, disallowed))
    work = Work()
    for check in path_checks(
        path, anchored, profile, at, crls, disallowed, explain=False, work=work
    ):
        if check.status is CheckStatus.FAIL:
            break
    return not any(c.status is CheckStatus.FAIL for c in explained), work


@pytest.mark.parametrize("base", PROFILES, ids=["rfc5280", "crl-required", "lenient", "no-usage"])
def test_path_valid_is_path_checks_on_every_limbo_path(base: Profile) -> None:
    judged = valid = 0
    for request in REQUESTS:
        profile = replace(base, purpose=request.purpose)  # a server case wants serverAuth
        anchors = request.machine.store(ROOT).index
        search = build_paths(request.leaf, request.chain, anchors, request.budget)
        for candidate in search.paths:
            path, anchored = candidate.certificates, candidate.anchored
            disallowed = frozenset(path[-1:]) if judged % 7 == 0 else frozenset()
            expected, spent = _slow(request, path, anchored, profile, disallowed)
            for _ in range(2):  # the second time from the certificates' remembered verdicts
                work = Work()
                got = path_valid(
                    path, anchored, profile, request.when, request.crls, disallowed, work=work
                )
                assert got == expected, (request.leaf.label, profile)
                assert (work.signatures, work.name_checks) == (spent.signatures, spent.name_checks)
            judged += 1
            valid += expected
    assert judged > 300 and 0 < valid < judged  # both outcomes


def test_accepts_agrees_with_verify_on_every_limbo_case() -> None:
    for request in REQUESTS:
        if request.require_revocation:
            continue  # verify_fast/accepts do not take a revocation requirement apart
        assert accepts(request, "rfc5280") == verify(request, ["rfc5280"])["rfc5280"].accepted
