"""Run the gate: in a background reactor thread (tests, the demo) or as the main program.

Twisted's reactor runs once per process; ``running_gate`` starts it in a daemon thread on
first use and schedules each gate on it, so any number of gates can start and stop.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, cast

from twisted.internet import task
from twisted.internet.threads import blockingCallFromThread

from certgate.errors import UsageError
from certgate.gate._twisted import reactor
from certgate.gate.backends import Backend
from certgate.gate.config import GateConfig
from certgate.gate.server import Clock, GateServer, _utcnow
from certgate.gate.tls import ServerIdentity

__all__ = ["RunningGate", "running_gate", "serve_forever"]

_lock = threading.Lock()
_thread: threading.Thread | None = None


def _ensure_reactor() -> None:
    global _thread  # noqa: PLW0603 - one reactor thread per process
    with _lock:
        if _thread is not None and _thread.is_alive():
            return
        started = threading.Event()
        reactor.callWhenRunning(started.set)
        _thread = threading.Thread(
            target=reactor.run,
            kwargs={"installSignalHandlers": False},
            name="certgate-reactor",
            daemon=True,
        )
        _thread.start()
        if not started.wait(10):
            raise RuntimeError("the Twisted reactor did not start")


@dataclass(frozen=True)
class RunningGate:
    server: GateServer
    host: str
    port: int

    def stop(self, grace: float = 2.0) -> None:
        """Stop now (from any thread but the reactor's): finish requests in flight, close."""
        blockingCallFromThread(reactor, cast(Any, self.server.stop), grace)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"


@contextmanager
def running_gate(
    config: GateConfig,
    identity: ServerIdentity | None = None,
    backend: Backend | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Clock = _utcnow,
    grace: float = 2.0,
) -> Iterator[RunningGate]:
    """A gate listening on ``host:port`` (0: a free port from the OS) until the block ends;
    it is always stopped, requests in flight get ``grace`` seconds."""
    _ensure_reactor()
    server = GateServer(config, identity or ServerIdentity.throwaway(), backend, clock=clock)
    bound = blockingCallFromThread(reactor, server.listen, host, port)
    try:
        yield RunningGate(server, host, bound)
    finally:
        RunningGate(server, host, bound).stop(grace)


def serve_forever(
    config: GateConfig,
    identity: ServerIdentity,
    backend: Backend | None,
    host: str,
    port: int,
    announce: Callable[[int], None],
    *,
    reload: Callable[[], GateConfig] | None = None,
    listening: socket.socket | None = None,
    parent: int | None = None,
) -> None:
    """The CLI: the reactor on the main thread; SIGTERM/SIGINT stop it gracefully, SIGHUP
    re-reads the policy with ``reload`` (one that does not load keeps the old policy).

    A worker of ``serve --workers`` gets the master's ``listening`` socket and the master's
    pid as ``parent``: it stops on its own once the master is gone (no orphans)."""
    server = GateServer(config, identity, backend)
    failed: list[Exception] = []
    stopping: list[bool] = []
    name = "certgate serve" if parent is None else f"certgate serve[{os.getpid()}]"

    def start() -> None:
        try:
            bound = server.listen(host, port) if listening is None else server.adopt(listening)
        except Exception as exc:  # CannotListenError, a bad certificate: stop and report
            failed.append(exc)
            reactor.stop()
            return
        if listening is not None:
            listening.close()  # the reactor listens on its own duplicate
        announce(bound)
        if parent is not None:
            task.LoopingCall(_orphaned).start(0.5, now=False)

    def _orphaned() -> None:
        if os.getppid() != parent:
            _stop()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        reactor.callFromThread(_reload if signum == signal.SIGHUP else _stop)

    def _reload() -> None:
        if reload is None or stopping:
            return
        try:
            fresh = reload()
        except Exception as exc:  # keep serving with the policy that worked
            print(f"{name}: policy not reloaded, keeping the old one: {exc}", file=sys.stderr)
            return
        server.reload(fresh)
        if parent is None:  # the master of the workers says it once for all of them
            print(f"{name}: policy reloaded", file=sys.stderr)

    def _stop() -> None:
        if stopping:
            return
        stopping.append(True)
        server.stop().addBoth(lambda _: reactor.stop())

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)
    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    if failed:
        raise UsageError(f"cannot serve on {host}:{port}: {failed[0]}")
