"""Run the checks of a profile over candidate paths: all of them, or until one is valid."""

from __future__ import annotations

from collections.abc import Sequence

from certgate.core.checks import Profile, Work, path_checks, path_valid
from certgate.core.engines._base import JudgedPath, VerifyRequest, rank_paths
from certgate.core.model import Certificate
from certgate.core.paths import CertIndex, PoolPart, build_paths, iter_paths

__all__ = ["any_valid", "judge_all", "work_for"]


def work_for(request: VerifyRequest) -> Work:
    """One work account per request: every path judged for it draws on the same budget."""
    budget = request.budget
    return Work(max_signatures=budget.max_signatures, max_name_checks=budget.max_name_checks)


def judge_all(
    request: VerifyRequest,
    pool: Sequence[PoolPart],
    anchors: Sequence[Certificate] | CertIndex,
    profile: Profile,
    disallowed: frozenset[Certificate] = frozenset(),
) -> tuple[list[JudgedPath], bool]:
    """Every candidate path with every check, best first; and whether the budget ran out."""
    search = build_paths(request.leaf, pool, anchors, request.budget)
    work = work_for(request)
    judged = [
        JudgedPath(
            p.certificates,
            p.end,
            tuple(
                path_checks(
                    p.certificates,
                    p.anchored,
                    profile,
                    request.when,
                    request.crls,
                    disallowed,
                    work=work,
                )
            ),
        )
        for p in search.paths
    ]
    return rank_paths(judged), search.exhausted


def any_valid(
    request: VerifyRequest,
    pool: Sequence[PoolPart],
    anchors: Sequence[Certificate] | CertIndex,
    profile: Profile,
    disallowed: frozenset[Certificate] = frozenset(),
) -> tuple[Certificate, ...] | None:
    """The first valid path, stopping each path at its first failure; None when none is."""
    work = work_for(request)
    for path in iter_paths(request.leaf, pool, anchors, request.budget):
        if not path.anchored:
            continue
        if path_valid(
            path.certificates, True, profile, request.when, request.crls, disallowed, work=work
        ):
            return path.certificates
    return None
