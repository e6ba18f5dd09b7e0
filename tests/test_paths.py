"""Path building: every candidate issuer, cross-signatures, loops, and the budget."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pytest

from certgate.core.engines import VerifyRequest, accepts, verify
from certgate.core.model import Certificate
from certgate.core.paths import Budget, CertIndex, PathEnd, build_paths
from certgate.core.stores import Machine, Store
from certgate.testing import PKI, KeyType


def test_cross_signed_intermediate_gives_two_candidates(pki: PKI) -> None:
    old = pki.root("Old Root")
    new = pki.root("New Root")
    issuing = new.intermediate("Issuing")
    cross = old.cross_sign(new)  # New Root's name and key, certified by Old Root
    leaf = issuing.client("a")
    search = build_paths(
        leaf.certificate,
        [issuing.certificate, cross.certificate],
        [old.certificate, new.certificate],
    )
    tops = sorted(p.certificates[-1].subject.common_name or "" for p in search.paths)
    assert [p.end for p in search.paths] == [PathEnd.ANCHORED, PathEnd.ANCHORED]
    assert tops == ["New Root", "Old Root"]


def test_loop_of_cross_certificates_terminates(pki: PKI) -> None:
    a = pki.root("A")
    b = pki.root("B")
    a_by_b = b.cross_sign(a)
    b_by_a = a.cross_sign(b)
    leaf = a.client("leaf")
    search = build_paths(leaf.certificate, [a_by_b.certificate, b_by_a.certificate], [])
    assert search.paths and all(p.end is not PathEnd.ANCHORED for p in search.paths)
    assert not search.exhausted
    assert max(len(p.certificates) for p in search.paths) <= 3


def test_budget_stops_a_pathological_pool(pki: PKI) -> None:
    root = pki.root("Root")
    # many same-name intermediates with different keys: a combinatorial explosion
    layers = []
    parents = [root]
    for level in range(4):
        layer = [p.intermediate(f"Level {level}") for p in parents[:1] for _ in range(4)]
        layers += layer
        parents = layer
    leaf = parents[0].client("leaf")
    search = build_paths(
        leaf.certificate, [c.certificate for c in layers], [], Budget(max_paths=10, max_steps=200)
    )
    assert search.exhausted
    assert len(search.paths) <= 10


def test_depth_budget(pki: PKI, now: datetime) -> None:
    root = pki.root("Root")
    chain = [root]
    for level in range(10):
        chain.append(chain[-1].intermediate(f"L{level}"))
    leaf = chain[-1].client("deep")
    request = VerifyRequest(
        leaf.certificate,
        tuple(c.certificate for c in chain[1:]),
        Machine((Store("Root", (root.certificate,)),)),
        at=now,
    )
    assert verify(request, ["rfc5280"])["rfc5280"].code == "path-budget-exceeded"


def test_signature_failure_is_recorded_on_a_name_match(pki: PKI, now: datetime) -> None:
    """Same issuer name, different key: the candidate is shown, its signature check fails."""
    genuine = pki.root("Root")
    impostor = pki.root("Root")  # same name, another key
    leaf = genuine.client("a")
    request = VerifyRequest(
        leaf.certificate, (), Machine((Store("Root", (impostor.certificate,)),)), at=now
    )
    verdict = verify(request, ["rfc5280", "windows"])
    assert verdict["rfc5280"].code == "signature-invalid"
    assert verdict["windows"].code == "TRUST_E_CERT_SIGNATURE"


def _filler_roots(pki: PKI, count: int) -> list[Certificate]:
    key = pki.key(KeyType.P256)
    return [
        pki.issue(f"CN=Filler {n}", issuer=None, ca=True, key=key).certificate for n in range(count)
    ]


def test_stores_are_indexed_once_per_machine(pki: PKI, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the first verification, no engine indexes or converts the stores again: later
    ones build indexes of the client's chain only (cost flat in the stores' size)."""
    root = pki.root("Indexed Root")
    issuing = root.intermediate("Indexed Issuing")
    leaf = issuing.client("indexed client")
    fillers = _filler_roots(pki, 40)
    machine = Machine(
        (
            Store("Root", (*fillers, root.certificate)),
            Store("CA", (*fillers[:20], issuing.certificate)),
        )
    )
    given = issuing.certificate
    request = VerifyRequest(leaf.certificate, (given,), machine, at=pki.now)
    engines = ("rfc5280", "windows", "openssl")
    first = verify(request, engines)
    assert all(v.accepted for v in first.values()), first
    built: list[int] = []
    real_init = CertIndex.__init__

    def counting(self: CertIndex, certs: Iterable[Certificate] = ()) -> None:
        real_init(self, certs)
        built.append(len(self))

    monkeypatch.setattr(CertIndex, "__init__", counting)
    again = verify(request, engines)
    assert all(accepts(request, name) for name in engines)
    assert [v.code for v in again.values()] == [v.code for v in first.values()]
    assert built and max(built) <= 1  # only the one-certificate client chain
    # openssl hands back our own certificate objects (with their provenance), not copies
    assert again["openssl"].path[1] is given
