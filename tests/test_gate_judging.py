"""The gate judges off the reactor, once per chain and policy generation, with address budgets."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from certgate.core.gate.judge import Judge, VerdictCache, fingerprint
from certgate.core.gate.policy import Policy
from certgate.gate.client import fetch
from certgate.gate.judging import AddressBudget
from certgate.testing import PKI
from certgate.testing.hostile import name_constraint_attack
from gate_support import config, gate, identity, machine


def test_address_budget_charges_rejections_in_a_window() -> None:
    budget = AddressBudget(budget=1.0, window=10.0, max_pending=2)
    assert budget.refusal("192.0.2.1", 100.0) is None
    budget.charge("192.0.2.1", 0.6, 100.0)
    assert budget.refusal("192.0.2.1", 101.0) is None
    budget.charge("192.0.2.1", 0.6, 102.0)
    refusal = budget.refusal("192.0.2.1", 103.0)
    assert refusal is not None and "1.20 s" in refusal
    assert budget.refusal("198.51.100.7", 103.0) is None  # another address is not affected
    assert budget.refusal("192.0.2.1", 111.0) is None  # the first charge left the window
    budget.started("198.51.100.7")
    budget.started("198.51.100.7")
    assert "waiting" in str(budget.refusal("198.51.100.7", 111.0))
    budget.finished("198.51.100.7")
    assert budget.refusal("198.51.100.7", 111.0) is None


def test_verdict_cache_is_per_policy_generation(pki: PKI, now: datetime) -> None:
    root = pki.root("Gen Root")
    leaf = root.client("gen")
    cache = VerdictCache()
    policy = Policy(machine=machine([root]))
    first = Judge(policy, cache=cache)
    assert first.certificate((leaf.der,), now).allowed
    assert cache.get(first.key((leaf.der,)), now) is not None
    second = Judge(policy, cache=cache)  # e.g. after a CRL refresh
    assert second.generation != first.generation
    assert cache.get(second.key((leaf.der,)), now) is None
    later = now + timedelta(days=400)  # past the leaf's life
    assert cache.get(first.key((leaf.der,)), later) is None
    assert fingerprint([b"ab", b"c"]) != fingerprint([b"a", b"bc"])


def test_live_gate_judges_in_the_pool_and_refuses_an_address_over_budget(
    pki: PKI, tmp_path: Path, now: datetime
) -> None:
    root = pki.root("Pool Root")
    good = root.client("good")
    attack = name_constraint_attack(pki, root, forged=True, permitted=50, excluded=50, sans=60)
    hostile = [root.client(f"stranger-{i}", not_after=now - timedelta(days=1)) for i in range(3)]
    with gate(config({}, tmp_path, machine([root])), now) as running:
        server = running.server
        server.pool.budget = AddressBudget(budget=0.0, window=60.0)  # the first rejection spends it
        assert fetch(running.url + "/", identity(good)).status == 200
        forged = fetch(running.url + "/", identity(attack.leaf))
        assert (forged.status, forged.header("certgate-status")) == (403, "403.16")
        refused = fetch(running.url + "/", identity(hostile[0]))
        assert (refused.status, refused.header("certgate-status")) == (403, "403.502")
        assert "not judged" in str(refused.header("certgate-reason"))
        again = fetch(running.url + "/", identity(attack.leaf))  # judged before: from the cache
        assert again.header("certgate-status") == "403.16"
        assert fetch(running.url + "/", identity(good)).status == 200  # cached verdicts stay
        assert server.pool.judged == 2 and server.pool.refused == 1


def test_denials_slow_an_address_down() -> None:
    budget = AddressBudget(window=10.0, free_denials=2, step=0.5, max_delay=1.2)
    assert [budget.denied("192.0.2.9", 100.0 + i) for i in range(5)] == [0.0, 0.0, 0.5, 1.0, 1.2]
    assert budget.delay("198.51.100.1", 105.0) == 0.0
    assert budget.delay("192.0.2.9", 115.0) == 0.0  # the window moved on


def test_a_client_waiting_for_each_denial_stays_slowed_until_quiet() -> None:
    """Retrying right after each answer does not let the sliding count fall back under the
    free denials: the address stays at the longest delay while it keeps retrying."""
    budget = AddressBudget(window=10.0, free_denials=4, step=0.2, max_delay=3.0)
    now, delays = 100.0, []
    for _ in range(20):
        delays.append(budget.denied("192.0.2.9", now))
        now += delays[-1] + 0.01
    assert delays[:9] == [0.0, 0.0, 0.0, 0.0, 0.2, 0.4, 0.8, 1.6, 3.0]
    assert set(delays[9:]) == {3.0}  # a sliding count alone would settle near 1 s
    assert budget.delay("192.0.2.9", now) == 3.0
    assert budget.delay("192.0.2.9", now + 10.0) == 0.0  # a quiet window ends it
    budget.forget_idle(now + 10.0)
    assert budget.denied("192.0.2.9", now + 10.0) == 0.0  # free denials again
