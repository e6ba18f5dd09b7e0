"""Path building: every candidate chain from a leaf to an anchor, with a budget.

Issuers are found by name (RFC 5280 name equality, see ``Name``), ranked by key identifier
(AKI == SKI first) and anchors first; signatures are judged afterwards by the checks, so a
candidate whose signature fails is still shown, with the failed check. A certificate already
on the path (same DER, or same subject and key) is never added again, which ends loops and
cross-signature cycles. The budget bounds work on pathological inputs.

A store's certificates are indexed once (``CertIndex``, kept by ``Store.index`` and the
engines' per-machine caches): one search costs dictionary lookups, whatever the store's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from certgate.core.model import Certificate
from certgate.core.names import Name

__all__ = [
    "Budget",
    "CandidatePath",
    "CertIndex",
    "PathEnd",
    "PathSearch",
    "PoolPart",
    "build_paths",
    "iter_paths",
]


class PathEnd(StrEnum):
    ANCHORED = "anchored"  # ends at a trust anchor of the judging engine
    UNTRUSTED_ROOT = "untrusted-root"  # ends at a self-issued certificate that is no anchor
    MISSING_ISSUER = "missing-issuer"  # no certificate with the issuer's name was available
    TOO_LONG = "too-long"  # more intermediates than the budget allows


@dataclass(frozen=True)
class Budget:
    """Work one verification may spend. Path building stops at the first three; signature
    checks and name-constraint comparisons are counted by ``checks.Work``. Exceeding any of
    them is a rejection with its own code, never a long wait."""

    max_intermediates: int = 8  # cryptography's default max_chain_depth
    max_paths: int = 64
    max_steps: int = 2048
    max_signatures: int = 512  # checks.SIGNATURE_BUDGET
    max_name_checks: int = 1 << 16  # checks.NAME_CHECK_BUDGET


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


class CertIndex:
    """Certificates indexed by subject name, in their original order, duplicates dropped.

    Built once per store (``Store.index``) and shared by every verification: finding the
    candidate issuers of a certificate is then a dictionary lookup. Immutable once built.
    """

    __slots__ = ("_by_subject", "_position", "certificates")

    def __init__(self, certs: Iterable[Certificate] = ()) -> None:
        unique = tuple(dict.fromkeys(certs))
        by_subject: dict[Name, list[Certificate]] = {}
        for cert in unique:
            by_subject.setdefault(cert.subject, []).append(cert)
        self.certificates = unique
        self._by_subject = {name: tuple(certs) for name, certs in by_subject.items()}
        self._position = {cert: n for n, cert in enumerate(unique)}

    def named(self, subject: Name) -> tuple[Certificate, ...]:
        """Every certificate whose subject equals ``subject`` (RFC 5280 name equality)."""
        return self._by_subject.get(subject, ())

    def position(self, cert: Certificate) -> int:
        """Where ``cert`` is in the original order (``ValueError`` when absent)."""
        try:
            return self._position[cert]
        except KeyError:
            raise ValueError(f"{cert.label} is not in this index") from None

    def __contains__(self, cert: object) -> bool:
        return cert in self._position

    def __iter__(self) -> Iterator[Certificate]:
        return iter(self.certificates)

    def __len__(self) -> int:
        return len(self.certificates)


PoolPart = Certificate | CertIndex


def build_paths(
    leaf: Certificate,
    pool: Iterable[PoolPart],
    anchors: Iterable[Certificate] | CertIndex,
    budget: Budget = Budget(),
) -> PathSearch:
    """Every candidate path from ``leaf``. ``pool`` mixes loose certificates (the client's
    chain) and prebuilt indexes (the stores), searched in that order after the anchors."""
    search = _Search(pool, anchors, budget)
    paths = tuple(search.extend((leaf,)))
    return PathSearch(paths, search.exhausted)


def iter_paths(
    leaf: Certificate,
    pool: Iterable[PoolPart],
    anchors: Iterable[Certificate] | CertIndex,
    budget: Budget = Budget(),
) -> Iterator[CandidatePath]:
    """The same candidates, lazily, in search order (anchors and key-id matches first)."""
    return _Search(pool, anchors, budget).extend((leaf,))


def _indexes(pool: Iterable[PoolPart]) -> tuple[CertIndex, ...]:
    """Consecutive loose certificates become one small index; indexes are kept as they are."""
    parts: list[CertIndex] = []
    loose: list[Certificate] = []
    for part in pool:
        if isinstance(part, CertIndex):
            if loose:
                parts.append(CertIndex(loose))
                loose = []
            parts.append(part)
        else:
            loose.append(part)
    if loose:
        parts.append(CertIndex(loose))
    return tuple(parts)


class _Search:
    def __init__(
        self,
        pool: Iterable[PoolPart],
        anchors: Iterable[Certificate] | CertIndex,
        budget: Budget,
    ) -> None:
        self.anchors = anchors if isinstance(anchors, CertIndex) else CertIndex(anchors)
        self.sources = (self.anchors, *_indexes(pool))
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
        issuer = cert.issuer
        found: list[Certificate] = []
        for source in self.sources:
            found += source.named(issuer)
        if len(found) > 1 and len(self.sources) > 1:
            found = list(dict.fromkeys(found))
        named = [c for c in found if not _on_path(c, path)]
        if len(named) < 2:
            return named
        aki = cert.authority_key_identifier
        anchors = self.anchors

        def rank(candidate: Certificate) -> tuple[int, int]:
            ski = candidate.subject_key_identifier
            key_mismatch = aki is not None and ski is not None and aki != ski
            return (int(key_mismatch), int(candidate not in anchors))

        named.sort(key=rank)  # stable: store order within a rank
        return named

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
