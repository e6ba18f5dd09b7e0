"""Judging off the reactor thread: a bounded pool, one judgement per chain, budgets per address.

A connection's chain is judged as soon as its TLS handshake completes, before any of its HTTP
bytes are read: a chain already judged (``VerdictCache``, by chain fingerprint and policy
generation) is answered at once; any other goes to a pool of ``threads`` worker threads (one by
default: judging is Python, so more threads would only contend for the GIL) while
the connection is held (its input buffered, the socket paused), so the reactor keeps serving
everyone else. Connections presenting a chain that is already being judged wait for that one
judgement.

An address whose judgements keep failing pays for them: the thread CPU time of every rejected
judgement is charged to it, and once it has spent ``budget`` seconds within ``window``
seconds (or has ``max_pending`` judgements queued), its new chains are refused without being
judged, 403.502 as IIS's Dynamic IP Restrictions answer [secondary], until the window moves
on. Chains already judged are still answered from the cache: the refusal costs nothing, and
good clients behind the same address keep their cached verdicts.

Addresses also share one budget: once rejected judgements from every address together have
cost ``shared_budget`` seconds within the window, an address that has had any rejected
judgement in the window gets 403.502 for its new chains, so many addresses cannot each spend
their own budget at once. An address without a rejected judgement is still judged: a good
client that shares nothing with the attackers keeps its access.

An address is also slowed by its denials, cached or not: past ``free_denials`` certificate
denials within the window, each further denial is answered later, ``step`` seconds for the
first and twice the previous delay for each next one (at most ``max_delay``). While ``crowd``
other addresses are being slowed, nobody gets free denials: the first denial is already
answered ``step`` seconds later. The slowing lasts until the address has earned no denial for
a whole window: a client that waits for each answer before retrying is held at ``max_delay``
per attempt for as long as it keeps retrying (a sliding count alone would let it settle near
one attempt a second, each a full TLS handshake of whatever chain it sends). A client
retrying a bad certificate a few times gets every answer, with its reason.

A slowed address is also limited when it connects, before any TLS work (``admits``): it may
hold at most ``max_connections`` connections, and may open a new one only once its current
delay has passed since the last one it opened. A client that waits for each answer is never
refused there (its answer came that delay after its last connection); one that opens
connections without waiting for its answers (a handshake flood) is closed at accept.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from twisted.internet import defer, threads
from twisted.python.threadpool import ThreadPool

from certgate.core.gate.decision import Decision, GateCode, gate_deny
from certgate.core.gate.judge import Judge
from certgate.core.gate.policy import Limits
from certgate.gate._twisted import reactor

__all__ = ["AddressBudget", "Held", "JudgingPool"]


class Held(Protocol):
    """What the pool needs from a connection (``GateChannel``)."""

    judged: Decision | None

    def release(self) -> None: ...


@dataclass
class AddressBudget:
    """CPU seconds of rejected judgements and certificate denials per address, per window."""

    budget: float = 0.1
    window: float = 10.0
    max_pending: int = 4
    free_denials: int = 4
    step: float = 0.2
    max_delay: float = 3.0
    max_connections: int = 4
    shared_budget: float = 0.5
    crowd: int = 4
    _spent: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)
    _shared: deque[tuple[float, float]] = field(default_factory=deque)
    _pending: dict[str, int] = field(default_factory=dict)
    _denials: dict[str, deque[float]] = field(default_factory=dict)
    _slowed: dict[str, tuple[int, float]] = field(default_factory=dict)  # strikes, last one
    _opened: dict[str, float] = field(default_factory=dict)  # a slowed address's last connection

    @classmethod
    def from_limits(cls, limits: Limits) -> AddressBudget:
        budget = cls()
        budget.configure(limits)
        return budget

    def configure(self, limits: Limits) -> None:
        """The policy's ``[limits]`` values; what the addresses have spent is kept."""
        self.budget = limits.client_judging_budget
        self.window = limits.budget_window
        self.max_pending = limits.client_max_pending
        self.free_denials = limits.client_free_denials
        self.step = limits.denial_delay_step
        self.max_delay = limits.denial_delay_max
        self.max_connections = limits.slowed_max_connections
        self.shared_budget = limits.all_clients_judging_budget
        self.crowd = limits.slowed_crowd

    def denied(self, address: str, now: float) -> float:
        """Count a certificate denial for ``address``; the delay its answer gets (seconds)."""
        entries = self._denials.setdefault(address, deque())
        entries.append(now)
        self._prune(address, entries, now)
        strikes = self._strikes(address, now)
        free = 0 if self._crowded(address, now) else self.free_denials
        if strikes == 0 and len(entries) <= free:
            return 0.0
        self._slowed[address] = (strikes + 1, now)
        return self._delay_for(strikes + 1)

    def delay(self, address: str, now: float) -> float:
        """The delay the address's denials get now (0: it is not being slowed)."""
        entries = self._denials.get(address)
        if entries is not None:
            self._prune(address, entries, now)
        return self._delay_for(self._strikes(address, now))

    def admits(self, address: str, now: float, open_here: int) -> bool:
        """Whether a new connection from ``address`` (holding ``open_here``) is taken."""
        delay = self.delay(address, now)
        if delay <= 0:
            self._opened.pop(address, None)
            return True
        if open_here >= self.max_connections:
            return False
        last = self._opened.get(address)
        if last is not None and now - last < delay * 0.9:  # a margin for timer granularity
            return False
        self._opened[address] = now
        return True

    def _crowded(self, address: str, now: float) -> bool:
        """Whether ``crowd`` other addresses are being slowed (counted up to that many)."""
        found = 0
        for other, (_, last) in self._slowed.items():
            if other != address and last > now - self.window:
                found += 1
                if found >= self.crowd:
                    return True
        return False

    def _prune(self, address: str, entries: deque[float], now: float) -> None:
        while entries and entries[0] <= now - self.window:
            entries.popleft()
        if not entries:
            del self._denials[address]

    def _strikes(self, address: str, now: float) -> int:
        """Denials since the address began to be slowed; 0 once it was quiet a whole window."""
        strikes, last = self._slowed.get(address, (0, now))
        if strikes and last <= now - self.window:
            del self._slowed[address]
            return 0
        return strikes

    def _delay_for(self, strikes: int) -> float:
        if strikes <= 0:
            return 0.0
        return min(self.max_delay, self.step * 2.0 ** min(strikes - 1, 32))

    def charge(self, address: str, seconds: float, now: float) -> None:
        self._spent.setdefault(address, deque()).append((now, seconds))
        self._shared.append((now, seconds))

    def spent(self, address: str, now: float) -> float:
        entries = self._spent.get(address)
        if not entries:
            return 0.0
        while entries and entries[0][0] <= now - self.window:
            entries.popleft()
        if not entries:
            del self._spent[address]
            return 0.0
        return sum(seconds for _, seconds in entries)

    def shared_spent(self, now: float) -> float:
        """Rejected judgements' CPU seconds in the window, every address together."""
        while self._shared and self._shared[0][0] <= now - self.window:
            self._shared.popleft()
        return sum(seconds for _, seconds in self._shared)

    def refusal(self, address: str, now: float) -> str | None:
        """Why a new judgement for ``address`` is refused, or None."""
        pending = self._pending.get(address, 0)
        if pending >= self.max_pending:
            return f"{pending} judgements from this address are already waiting"
        spent = self.spent(address, now)
        if spent > self.budget:
            return (
                f"rejected certificates from this address cost {spent:.2f} s of judging in the "
                f"last {self.window:g} s, over the budget of {self.budget:g} s"
            )
        if spent > 0:
            shared = self.shared_spent(now)
            if shared > self.shared_budget:
                return (
                    f"rejected certificates from all addresses cost {shared:.2f} s of judging "
                    f"in the last {self.window:g} s, over the budget of {self.shared_budget:g} "
                    "s, and this address sent some of them"
                )
        return None

    def started(self, address: str) -> None:
        self._pending[address] = self._pending.get(address, 0) + 1

    def finished(self, address: str) -> None:
        left = self._pending.get(address, 0) - 1
        if left > 0:
            self._pending[address] = left
        else:
            self._pending.pop(address, None)

    def forget_idle(self, now: float) -> None:
        for address in list(self._spent):
            self.spent(address, now)
        for address in list(self._denials) + list(self._slowed):
            self.delay(address, now)
        for address in [a for a in self._opened if a not in self._slowed]:
            del self._opened[address]
        self.shared_spent(now)


_SWITCH_INTERVAL = 0.001


@dataclass
class _Job:
    done: defer.Deferred[Decision | None]
    waiting: int = 1


class JudgingPool:
    """Judges chains on worker threads for the gate; every method runs on the reactor."""

    def __init__(
        self,
        judge: Callable[[], Judge],
        clock: Callable[[], datetime],
        *,
        threads: int = 1,
        budget: AddressBudget | None = None,
        warn: Callable[[str], None] = lambda text: None,
    ) -> None:
        self._judge = judge
        self._clock = clock
        self._warn = warn
        self.budget = budget or AddressBudget()
        self._pool = ThreadPool(minthreads=0, maxthreads=max(1, threads), name="certgate-judge")
        self._pool.threadFactory = _daemon  # type: ignore[assignment]  # never blocks exit
        self._jobs: dict[tuple[bytes, int], _Job] = {}
        self.judged = 0
        self.refused = 0

    def start(self) -> None:
        # A worker holding the GIL delays the reactor by up to the switch interval (5 ms by
        # default) at every hand-over; the gate's process hands over every 1 ms instead.
        sys.setswitchinterval(min(sys.getswitchinterval(), _SWITCH_INTERVAL))
        self._pool.start()

    def stop(self) -> None:
        self._pool.stop()

    def prejudge(self, held: Held, chain: tuple[bytes, ...], address: str) -> bool:
        """Start judging ``chain`` for a connection; True when the connection must wait for
        ``release()`` (its verdict is being computed), False when nothing needs waiting."""
        if not chain:
            return False
        judge = self._judge()
        at = self._clock()
        key = judge.key(chain)  # the chain's fingerprint: hashed once per connection
        if judge.cache.get(key, at) is not None:
            return False
        job = self._jobs.get(key)
        if job is not None:  # the same chain is being judged: wait for that judgement
            job.waiting += 1
            job.done.addBoth(lambda result: self._release(held, result))
            return True
        now = reactor.seconds()
        refusal = self.budget.refusal(address, now)
        if refusal is not None:
            self.refused += 1
            held.judged = _over_budget(refusal)
            return False
        self.budget.started(address)
        job = self._jobs[key] = _Job(defer.Deferred[Decision | None]())
        work: defer.Deferred[tuple[Decision, float]] = threads.deferToThreadPool(
            reactor, self._pool, _timed, judge, chain, at
        )
        work.addCallbacks(
            lambda result: self._finished(key, job, address, result),
            lambda failure: self._failed(key, job, address, failure),
        )
        job.done.addBoth(lambda result: self._release(held, result))
        return True

    def _finished(
        self, key: tuple[bytes, int], job: _Job, address: str, result: tuple[Decision, float]
    ) -> None:
        decision, seconds = result
        self.judged += 1
        self.budget.finished(address)
        if not decision.allowed:
            self.budget.charge(address, seconds, reactor.seconds())
        del self._jobs[key]
        job.done.callback(decision)

    def _failed(self, key: tuple[bytes, int], job: _Job, address: str, failure: Any) -> None:
        self.budget.finished(address)
        del self._jobs[key]
        self._warn(f"error while judging: {failure.getErrorMessage()}")
        job.done.callback(None)  # the connection judges itself (fail closed there)

    @staticmethod
    def _release(held: Held, result: object) -> object:
        held.release()
        return result


def _daemon(*args: Any, **kwargs: Any) -> threading.Thread:
    return threading.Thread(*args, daemon=True, **kwargs)


def _timed(judge: Judge, chain: tuple[bytes, ...], at: datetime) -> tuple[Decision, float]:
    started = time.thread_time()
    decision = judge.certificate(chain, at)
    return decision, time.thread_time() - started


def _over_budget(reason: str) -> Decision:
    return gate_deny(
        "403.502",
        GateCode.CLIENT_BUDGET_EXCEEDED,
        f"not judged: {reason}; try again later",
        "E_ACCESSDENIED",
        caveats=(
            "[secondary] 403.502 is the substatus IIS's Dynamic IP Restrictions answers for "
            "an address over its limit",
        ),
    )
