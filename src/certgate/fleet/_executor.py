"""Run one function over many items, locally (a process pool) or on a Dask cluster, and stream
the results back as they finish.

Both executors keep a bounded number of tasks in flight (``window``), so the coordinator never
holds more than that many results or pending arguments: memory stays flat however many items
there are. The function and its items must be picklable (a module-level function, plain data);
on Dask the workers import it, so they need the same certgate installed (docs/fleet.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from certgate.errors import UsageError

__all__ = ["DaskExecutor", "Executor", "LocalExecutor", "TaskOutcome", "make_executor"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class TaskOutcome(Generic[T, R]):
    """One item and what became of it: ``result``, or ``error`` when the task itself died
    (a worker killed, a result that could not be sent back)."""

    item: T
    result: R | None = None
    error: str = ""


class Executor(Protocol):
    workers: int
    where: str

    def run(
        self, function: Callable[[T], R], items: Iterable[T]
    ) -> Iterator[TaskOutcome[T, R]]: ...

    def close(self) -> None: ...


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class LocalExecutor:
    """A process pool of ``workers`` processes on this machine."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self.where = f"local pool of {self.workers} process(es)"
        self._pool: ProcessPoolExecutor | None = None

    def run(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[TaskOutcome[T, R]]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        pool = self._pool
        window = self.workers * 4
        pending: dict[Future[R], T] = {}
        source = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                item = next(source, _END)
                if item is _END:
                    exhausted = True
                    break
                pending[pool.submit(function, item)] = item
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                item = pending.pop(future)
                yield _outcome(item, future.result, future.exception)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """Tasks on the dask.distributed cluster whose scheduler is at ``address``."""

    def __init__(self, address: str, *, timeout: float = 30.0) -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise UsageError("--dask needs dask.distributed: pip install 'certgate[dask]'") from exc
        try:
            self._client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))
        self.where = f"Dask cluster at {address} ({self.workers} worker(s))"

    def run(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[TaskOutcome[T, R]]:
        from distributed import as_completed

        threads = sum(self._client.nthreads().values()) or self.workers
        window = max(4, threads * 4)
        source = iter(items)
        pending: dict[Any, T] = {}
        first = []
        for item in _take(source, window):
            future = self._client.submit(function, item, pure=False)
            pending[future.key] = item
            first.append(future)
        if not first:
            return
        completed = as_completed(first, loop=self._client.loop)
        for future in completed:
            item = pending.pop(future.key)
            yield _outcome(item, future.result, future.exception)
            future.release()
            for following in _take(source, 1):
                nxt = self._client.submit(function, following, pure=False)
                pending[nxt.key] = following
                completed.add(nxt)

    def close(self) -> None:
        self._client.close()


def _outcome(item: T, result: Callable[[], R], exception: Callable[[], Any]) -> TaskOutcome[T, R]:
    try:
        error = exception()
    except Exception as exc:  # the future itself failed (cancelled, lost)
        error = exc
    if error is not None:
        return TaskOutcome(item, error=f"{type(error).__name__}: {error}")
    return TaskOutcome(item, result())


def _take(source: Iterator[T], count: int) -> list[T]:
    taken: list[T] = []
    for item in source:
        taken.append(item)
        if len(taken) >= count:
            break
    return taken


_END: Any = object()


def make_executor(workers: int | None, dask: str | None, timeout: float = 30.0) -> Executor:
    """``--dask ADDRESS`` wins; else a local pool of ``workers`` (default: the CPUs)."""
    if dask:
        return DaskExecutor(dask, timeout=timeout)
    return LocalExecutor(workers)
