"""Where an audit's memory goes: RSS before the command, and the peak of ``certgate audit --json``.

``python -m bench.audit_memory STORE.pem`` (``python -m bench.audit [COUNT]`` writes
``bench/out/audit-COUNT.pem``). One process running the command as users do (streamed: each
certificate judged as it is read, then dropped); RSS from ``/proc/self/statm`` (Linux), the
peak from ``getrusage``. What grows with the store: the file's bytes (read whole, as every
loader does), the per-store tallies (tens of bytes per certificate) and the findings.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
from pathlib import Path


def _rss() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def main(argv: list[str] | None = None) -> None:
    args = list(argv or ()) or [str(Path(__file__).parent / "out" / "audit-10000.pem")]
    if len(args) != 1 or not Path(args[0]).is_file():
        print("  skipped: python -m bench.audit_memory STORE.pem (python -m bench audit makes one)")
        return
    from certgate.cli import main as certgate

    start = _rss()
    size = Path(args[0]).stat().st_size / 2**20
    with Path(os.devnull).open("w") as sink, contextlib.redirect_stdout(sink):
        certgate(["audit", args[0], "--json", "--fail-on", "never", "--at", "2026-06-01"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args[0]} ({size:.0f} MiB): before the command {start:.0f} MiB; peak of "
        f"`certgate audit --json` {peak:.0f} MiB "
        f"(+{peak - start:.0f} MiB, the file's bytes included)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
