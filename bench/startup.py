"""Start-up: ``certgate --help`` and ``certgate explain 0x109`` against ``python -c pass``.

Whole processes, interleaved, ``ROUNDS`` rounds; wall time and CPU time (user + system of the
child, from ``os.wait4``) per run, medians reported. On a shared machine wall time includes
waiting for a core: CPU time is the fairer figure. Goal (issue 17): <= 0.15 s.
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
}


def once(argv: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
            wall, cpu = once(argv)
            walls[name].append(wall)
            cpus[name].append(cpu)
    print(f"median of {ROUNDS} interleaved runs; goal <= {GOAL} s")
    for name in COMMANDS:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(f"  {name:24} wall {wall:6.3f} s   CPU {cpu:6.3f} s")


if __name__ == "__main__":
    main()
