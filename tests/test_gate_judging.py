"""The gate judges off the reactor, once per chain and policy generation, with address budgets."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from certgate.core.gate.judge import Judge, VerdictCache, chain_fingerprint
from certgate.core.gate.policy import Policy
from certgate.gate.client import fetch
from certgate.gate.judging import AddressBudget
from certgate.testing import PKI
from certgate.testing.hostile import name_constraint_attack
from gate_support import config, gate, identity, machine


def test_address_budget_charges_rejections_in_a_window() -> None:
    budget = AddressBudget(budget=1.0, window=10.0, max_pending=2, shared_budget=5.0)
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
    assert chain_fingerprint([b"ab", b"c"]) != chain_fingerprint([b"a", b"bc"])


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


def test_addresses_share_one_judging_budget() -> None:
    """Many addresses cannot each spend their own budget at once; an address without a
    rejected judgement is still judged (a good client sharing nothing with them)."""
    budget = AddressBudget(budget=0.1, window=10.0, shared_budget=0.25)
    for n in range(5):
        budget.charge(f"192.0.2.{n}", 0.06, 100.0)  # each under its own budget
    refusal = budget.refusal("192.0.2.0", 101.0)
    assert refusal is not None and "all addresses" in refusal
    assert budget.refusal("198.51.100.1", 101.0) is None  # no rejected judgement of its own
    assert budget.refusal("192.0.2.0", 110.5) is None  # the window moved on


def test_a_crowd_of_slowed_addresses_ends_free_denials() -> None:
    budget = AddressBudget(window=10.0, free_denials=4, step=0.2, max_delay=3.0, crowd=3)
    for n in range(2):
        for i in range(5):
            budget.denied(f"192.0.2.{n}", 100.0 + i / 10)
    assert budget.denied("198.51.100.1", 101.0) == 0.0  # two slowed: free denials remain
    for i in range(5):
        budget.denied("192.0.2.2", 101.0 + i / 10)
    assert budget.denied("198.51.100.2", 102.0) == 0.2  # three slowed: the first is slowed
    assert budget.delay("198.51.100.3", 102.0) == 0.0  # never denied: nothing applies
    assert budget.denied("198.51.100.4", 113.0) == 0.0  # quiet addresses stop counting


def test_a_slowed_address_connects_once_per_delay() -> None:
    budget = AddressBudget(window=10.0, free_denials=0, step=2.0, max_delay=2.0)
    assert budget.admits("192.0.2.9", 100.0, open_here=0)  # not slowed
    assert budget.denied("192.0.2.9", 100.0) == 2.0
    assert budget.admits("192.0.2.9", 102.1, open_here=0)  # waited for its answer
    assert not budget.admits("192.0.2.9", 102.5, open_here=0)  # did not wait
    assert budget.admits("192.0.2.9", 104.2, open_here=0)
    assert budget.denied("192.0.2.9", 105.0) == 2.0
    assert not budget.admits("192.0.2.9", 108.5, open_here=4)  # max_connections
    assert budget.admits("198.51.100.1", 104.3, open_here=9)  # other addresses: untouched


def test_live_budget_values_come_from_the_policy_and_a_flood_is_closed_at_accept(
    pki: PKI, tmp_path: Path, now: datetime
) -> None:
    """[limits] sets the budgets; a slowed address that opens connections without waiting for
    its answers is closed before any TLS work; it still gets its answers with their reasons
    when it waits, and a good client from another address is served."""
    root = pki.root("Limits Root")
    good = root.client("good")
    expired = root.client("expired", not_after=now - timedelta(days=1))
    limits = {"client_free_denials": 0, "denial_delay_step": 1.5, "denial_delay_max": 1.5}
    with gate(config({"limits": limits}, tmp_path, machine([root])), now) as running:
        budget = running.server.pool.budget
        assert (budget.free_denials, budget.step, budget.max_delay) == (0, 1.5, 1.5)
        denied = fetch(running.url + "/", identity(expired))  # answered 1.5 s later
        assert (denied.status, denied.header("certgate-status")) == (403, "403.17")
        first = socket.create_connection(("127.0.0.1", running.port), timeout=0.5)
        second = None
        try:
            with pytest.raises(TimeoutError):
                first.recv(1)  # taken: the gate waits for its ClientHello
            second = socket.create_connection(("127.0.0.1", running.port), timeout=5)
            try:
                got = second.recv(1)
            except ConnectionResetError:
                got = b""  # closed by a reset
            assert got == b""  # closed at accept, no TLS work
        finally:
            first.close()
            if second is not None:
                second.close()
        assert fetch(running.url + "/", identity(good), source="127.0.0.2").status == 200
        time.sleep(1.6)  # a client that waits for its answers is taken again
        again = fetch(running.url + "/", identity(expired))
        assert again.header("certgate-status") == "403.17" and again.header("certgate-reason")
