"""Fleets: the doctor and the log summary over many servers at once, on a local process pool
or a Dask cluster, by the same code path: one function per bundle (or log file) runs where the
input lies, its small result is streamed back and merged as it arrives::

    executor = make_executor(workers=None, dask=None)        # or dask="tcp://scheduler:8786"
    fleet = FleetAggregate(at)
    for outcome in executor.run(diagnose_bundle, tasks):
        fleet.add(outcome.result)

See docs/fleet.md for what the workers need.
"""

from certgate.fleet._aggregate import SCHEMA, FleetAggregate
from certgate.fleet._doctor import (
    DoctorTask,
    ServerReport,
    diagnose_bundle,
    server_line,
    unreadable_report,
)
from certgate.fleet._executor import (
    DaskExecutor,
    Executor,
    LocalExecutor,
    TaskOutcome,
    default_workers,
    make_executor,
)
from certgate.fleet._inputs import bundle_paths
from certgate.fleet._logs import LogMerge, LogPart, LogTask, log_tasks, summarise_log

__all__ = [
    "SCHEMA",
    "DaskExecutor",
    "DoctorTask",
    "Executor",
    "FleetAggregate",
    "LocalExecutor",
    "LogMerge",
    "LogPart",
    "LogTask",
    "ServerReport",
    "TaskOutcome",
    "bundle_paths",
    "default_workers",
    "diagnose_bundle",
    "log_tasks",
    "make_executor",
    "server_line",
    "summarise_log",
    "unreadable_report",
]
