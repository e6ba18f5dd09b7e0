"""``certgate serve --workers N``: a master process and N gate processes on one socket.

The master binds and listens (so ``--listen HOST:0`` still means one free port), then starts
each worker as a fresh interpreter (``python -m certgate serve ... --worker-of FD,READY``)
that inherits the listening socket and accepts from it: no fork of a process holding a
Twisted reactor, threads or locks. The master runs no reactor; it only supervises:

- a worker is ready when it writes one byte to its ready pipe (its socket is adopted); one
  that exits before that fails the start, the others are stopped, its exit code is returned;
- SIGHUP: the master checks the policy file first; a file that does not load keeps the old
  policy everywhere (one message); otherwise every worker gets SIGHUP and reloads it;
- SIGTERM/SIGINT: the master closes its socket, sends SIGTERM to every worker (each drains
  its requests in flight), waits for all of them, kills what is left after the grace;
- a worker that dies while serving is replaced; one that dies within its first seconds
  twice in a row stops everything (exit 3) rather than restarting in a loop;
- each worker checks its parent twice a second and stops if the master is gone.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from certgate.exitcode import ExitCode

__all__ = ["bind", "run_workers", "usable_cpus"]

_EARLY = 3.0  # seconds: a worker dying sooner than this after its start is failing to run


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), not all the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def bind(host: str, port: int, backlog: int = 128) -> socket.socket:
    """The listening socket the workers share (SO_REUSEADDR, as Twisted's own)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
        listening.listen(backlog)
    except BaseException:
        listening.close()
        raise
    listening.set_inheritable(True)
    return listening


@dataclass
class _Signals:
    stop: bool = False
    reload: bool = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.reload = True
        else:
            self.stop = True


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    ready: int | None  # the read end of its ready pipe, until it is ready
    started: float


def run_workers(
    argv: Callable[[int, int], list[str]],
    listening: socket.socket,
    count: int,
    *,
    check_policy: Callable[[], object],
    announce: Callable[[], None],
    grace: float,
    say: Callable[[str], None],
) -> int:
    """Start ``count`` workers (``argv(listen_fd, ready_fd)`` is each one's command line) and
    supervise them until SIGTERM/SIGINT. Returns the exit code of the whole server."""
    signals = _Signals()
    previous = {
        s: signal.signal(s, signals) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    }
    workers: list[_Worker] = []
    try:
        workers = [_start(argv, listening) for _ in range(count)]
        code = _wait_ready(workers, signals)
        if code is not None:
            return code
        announce()
        return _supervise(argv, listening, workers, signals, check_policy, say)
    finally:
        listening.close()
        _stop_all(workers, grace)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _start(argv: Callable[[int, int], list[str]], listening: socket.socket) -> _Worker:
    ready, ready_w = os.pipe()
    try:
        process = subprocess.Popen(
            argv(listening.fileno(), ready_w), pass_fds=(listening.fileno(), ready_w)
        )
    except BaseException:
        os.close(ready)
        raise
    finally:
        os.close(ready_w)
    return _Worker(process, ready, time.monotonic())


def _wait_ready(workers: list[_Worker], signals: _Signals) -> int | None:
    """None when every worker listens; else the exit code to stop with."""
    while any(w.ready is not None for w in workers):
        if signals.stop:
            return ExitCode.OK
        pending = {w.ready: w for w in workers if w.ready is not None}
        readable, _, _ = select.select(list(pending), [], [], 0.2)
        for fd in readable:
            worker = pending[fd]
            got = os.read(fd, 1)
            os.close(fd)
            worker.ready = None
            if not got:  # the worker exited before listening; it said why on stderr
                code = worker.process.wait()
                return code if code > 0 else ExitCode.INTERNAL
    return None


def _supervise(
    argv: Callable[[int, int], list[str]],
    listening: socket.socket,
    workers: list[_Worker],
    signals: _Signals,
    check_policy: Callable[[], object],
    say: Callable[[str], None],
) -> int:
    early_deaths = 0
    while not signals.stop:
        if signals.reload:
            signals.reload = False
            try:
                check_policy()
            except Exception as exc:  # every worker keeps the policy that worked
                say(f"policy not reloaded, keeping the old one: {exc}")
            else:
                for worker in workers:
                    _send(worker, signal.SIGHUP)
                say(f"policy reloaded in {len(workers)} workers")
        for index, worker in enumerate(workers):
            code = worker.process.poll()
            if code is None:
                continue
            early = time.monotonic() - worker.started < _EARLY
            early_deaths = early_deaths + 1 if early else 0
            if early_deaths >= 2:
                say(f"worker {worker.process.pid} exited with {code} at its start; stopping")
                return ExitCode.INTERNAL
            say(f"worker {worker.process.pid} exited with {code}; starting another")
            workers[index] = _start(argv, listening)
            code_ready = _wait_ready([workers[index]], signals)
            if code_ready not in (None, ExitCode.OK):
                say("the new worker did not start; stopping")
                return ExitCode.INTERNAL
        time.sleep(0.1)
    return ExitCode.OK


def _send(worker: _Worker, signum: int) -> None:
    if worker.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            worker.process.send_signal(signum)


def _stop_all(workers: list[_Worker], grace: float) -> None:
    for worker in workers:
        if worker.ready is not None:
            os.close(worker.ready)
            worker.ready = None
        _send(worker, signal.SIGTERM)
    deadline = time.monotonic() + grace + 5.0
    for worker in workers:
        try:
            worker.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(
                f"certgate serve: worker {worker.process.pid} did not stop in time; killed",
                file=sys.stderr,
            )
            worker.process.kill()
            worker.process.wait()
