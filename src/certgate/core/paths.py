"""Path building: every candidate chain from a leaf to an anchor, with a budget.

Issuers are found by name (RFC 5280 name equality, see ``Name``), ranked by key identifier
(AKI == SKI first) and anchors first; signatures are judged afterwards by the checks, so a
candidate whose signature fails is still shown, with the failed check. A certificate already
on the path (same DER, or same subject and key) is never added again, which ends loops and
cross-signature cycles. The budget bounds work on pathological inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from certgate.core.model import Certificate
from certgate.core.names import Name

__all__ = ["Budget", "CandidatePath", "PathEnd", "PathSearch", "build_paths", "iter_paths"]


class PathEnd(StrEnum):
    ANCHORED = "anchored"  # ends at a trust anchor of the judging engine
    UNTRUSTED_ROOT = "untrusted-root"  # ends at a self-issued certificate that is no anchor
    MISSING_ISSUER = "missing-issuer"  # no certificate with the issuer's name was available
    TOO_LONG = "too-long"  # more intermediates than the budget allows


@dataclass(frozen=True)
class Budget:
    max_intermediates: int = 8  # cryptography's default max_chain_depth
    max_paths: int = 64
    max_steps: int = 2048


@dataclass(frozen=True)
class CandidatePath:
    certificates: tuple[Certificate, ...]  # leaf first
    end: PathEnd

    @property
    def anchored(self) -> bool:
        return self.end is PathEnd.ANCHORED


@dataclass(frozen=True)
class PathSearch:
    paths: tuple[CandidatePath, ...]
    exhausted: bool = False  # the budget stopped the search: more paths may exist


def build_paths(
    leaf: Certificate,
    pool: Iterable[Certificate],
    anchors: Iterable[Certificate],
    budget: Budget = Budget(),
) -> PathSearch:
    search = _Search(pool, anchors, budget)
    paths = tuple(search.extend((leaf,)))
    return PathSearch(paths, search.exhausted)


def iter_paths(
    leaf: Certificate,
    pool: Iterable[Certificate],
    anchors: Iterable[Certificate],
    budget: Budget = Budget(),
) -> Iterator[CandidatePath]:
    """The same candidates, lazily, in search order (anchors and key-id matches first)."""
    return _Search(pool, anchors, budget).extend((leaf,))


class _Search:
    def __init__(
        self, pool: Iterable[Certificate], anchors: Iterable[Certificate], budget: Budget
    ) -> None:
        self.anchors = frozenset(anchors)
        self.index: dict[Name, list[Certificate]] = {}
        for cert in dict.fromkeys((*self.anchors, *pool)):
            self.index.setdefault(cert.subject, []).append(cert)
        self.budget = budget
        self.steps = 0
        self.found = 0
        self.exhausted = False

    def extend(self, path: tuple[Certificate, ...]) -> Iterator[CandidatePath]:
        if self._spent():
            return
        top = path[-1]
        if top in self.anchors:
            yield self._emit(path, PathEnd.ANCHORED)
            return
        if _depth(path) >= self.budget.max_intermediates + 1:
            yield self._emit(path, PathEnd.TOO_LONG)
            return
        candidates = self._issuers(top, path)
        if not candidates:
            yield self._emit(
                path, PathEnd.UNTRUSTED_ROOT if top.self_issued else PathEnd.MISSING_ISSUER
            )
            return
        for issuer in candidates:
            yield from self.extend((*path, issuer))

    def _issuers(self, cert: Certificate, path: tuple[Certificate, ...]) -> list[Certificate]:
        named = [c for c in self.index.get(cert.issuer, ()) if not _on_path(c, path)]
        aki = cert.authority_key_identifier

        def rank(candidate: Certificate) -> tuple[int, int]:
            ski = candidate.subject_key_identifier
            key_mismatch = aki is not None and ski is not None and aki != ski
            return (int(key_mismatch), int(candidate not in self.anchors))

        return sorted(named, key=rank)

    def _emit(self, path: tuple[Certificate, ...], end: PathEnd) -> CandidatePath:
        self.found += 1
        return CandidatePath(path, end)

    def _spent(self) -> bool:
        self.steps += 1
        if self.steps > self.budget.max_steps or self.found >= self.budget.max_paths:
            self.exhausted = True
        return self.exhausted


def _depth(path: tuple[Certificate, ...]) -> int:
    """Certificates above the leaf, self-issued ones not counted (RFC 5280 §4.2.1.9)."""
    return sum(1 for c in path[1:] if not c.self_issued)


def _on_path(candidate: Certificate, path: tuple[Certificate, ...]) -> bool:
    return any(
        candidate == c or (candidate.subject == c.subject and candidate.spki_der == c.spki_der)
        for c in path
    )
