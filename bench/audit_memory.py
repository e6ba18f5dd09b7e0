"""Where an audit's memory goes: RSS after imports, loading, the rules and the JSON report.

``python -m bench.audit_memory STORE.pem`` (``python -m bench.audit`` writes
``bench/out/audit-10000.pem``). One process, cyclic GC off as in ``certgate audit``; RSS read
from ``/proc/self/statm`` between the stages (Linux), the peak from ``getrusage``.
"""

from __future__ import annotations

import gc
import resource
import sys
from datetime import UTC, datetime
from pathlib import Path


def _rss() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def main(argv: list[str] | None = None) -> None:
    args = list(argv or ()) or [str(Path(__file__).parent / "out" / "audit-10000.pem")]
    if len(args) != 1 or not Path(args[0]).is_file():
        print("  skipped: python -m bench.audit_memory STORE.pem (python -m bench audit makes one)")
        return
    gc.disable()
    from certgate.core.audit import audit
    from certgate.inputs import Request, StoreFiles, load
    from certgate.report.audit import write_audit_json

    start = _rss()
    machine = load(Request(stores=(StoreFiles("Root", (args[0],)),))).machine
    loaded = _rss()
    report = audit(machine, datetime.now(UTC))
    audited = _rss()
    write_audit_json(lambda text: None, report, None, ())
    written = _rss()
    count = sum(len(store) for store in machine.stores)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    each = (peak - start) * 1024 / max(1, count)
    print(
        f"{count} certificates: imports {start:.0f} MiB, load +{loaded - start:.0f}, "
        f"rules +{audited - loaded:.0f}, JSON rows +{written - audited:.0f}; "
        f"peak {peak:.0f} MiB ({each:.1f} KB a certificate)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
