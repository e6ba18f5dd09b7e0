"""Start-up: ``certgate --help`` and ``certgate explain 0x109`` against ``python -c pass``.

Whole processes, interleaved, ``ROUNDS`` rounds; wall time and CPU time (user + system of the
child, from ``os.wait4``) per run, medians (and the fastest run) reported. On a shared machine
wall time includes waiting for a core: CPU time is the fairer figure. Goal (issue 17): <= 0.15 s.
Output goes to /dev/null, as in a pipe: ``explain`` prints its card without rich
(``report.explain_plain``); the last row forces rich's renderer (``TTY_COMPATIBLE=0`` makes rich
decide, and it renders) to show what that costs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROUNDS = 15
GOAL = 0.15
BIN = Path(sys.executable).parent
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "certgate --help": [str(BIN / "certgate"), "--help"],
    "certgate explain 0x109": [str(BIN / "certgate"), "explain", "0x109"],
    "  same, rendered by rich": [str(BIN / "certgate"), "explain", "0x109"],
}
ENVIRONMENTS = {"  same, rendered by rich": {**os.environ, "TTY_COMPATIBLE": "0"}}


def once(name: str, argv: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ENVIRONMENTS.get(name),
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    for argv in COMMANDS.values():  # warm the page cache and compile bytecode once
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    walls: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpus: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(ROUNDS):
        for name, argv in COMMANDS.items():
            wall, cpu = once(name, argv)
            walls[name].append(wall)
            cpus[name].append(cpu)
    print(f"median (fastest) of {ROUNDS} interleaved runs; goal <= {GOAL} s")
    for name in COMMANDS:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(
            f"  {name:24} wall {wall:6.3f} s ({min(walls[name]):5.3f})"
            f"   CPU {cpu:6.3f} s ({min(cpus[name]):5.3f})"
        )


if __name__ == "__main__":
    main()
