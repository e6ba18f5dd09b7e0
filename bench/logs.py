"""``certgate logs --json`` against ``grep -c`` on the same files, in the same run.

Generates (under a temporary directory, deleted afterwards) a 1 GB WCF svclog, mostly
routine records with 0.1 % HttpsClientCertificateInvalid 0x109 failures, and a 10-million-line
IIS W3C log with 0.1 % ``403 16 2148204809`` lines. Each tool runs once to warm the page
cache, then ``ROUNDS`` times interleaved; medians of wall and CPU time (user + system of the
child: on a shared machine the fairer figure). Peak RSS is the child's ``ru_maxrss``. ``grep -n
| wc -l`` is the anchor that numbers lines, as certgate does. ``python -m bench.logs iis 10 40``
runs the IIS part alone with 10 M and then 40 M lines.

certgate's sources are byte-compiled first (``compileall``, as ``pip install`` does): a machine
with ``PYTHONDONTWRITEBYTECODE=1`` would otherwise compile them again in every run. The load
average is printed before and after, to go with the record.
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import certgate
from bench._servers import timed
from certgate.testing import logs as samples

SVCLOG_BYTES = 1_000_000_000
IIS_LINES = 10_000_000
ROUNDS = 3
FAILURE_EVERY = 1000  # 0.1 %
NEEDED_FREE = 4_000_000_000
START = datetime(2024, 3, 5, tzinfo=UTC)


def write_svclog(path: Path) -> int:
    written = failures = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        records = samples.svclog_bench_records(10**9, FAILURE_EVERY, START)
        while written < SVCLOG_BYTES:
            batch = [next(records) for _ in range(FAILURE_EVERY)]
            failures += 1
            text = "\r\n".join(batch) + "\r\n"
            out.write(text)
            written += len(text.encode())
    return failures


def write_iis(path: Path, count: int = IIS_LINES) -> int:
    fields = samples.IIS_DEFAULT_FIELDS
    ok = [
        samples.iis_line(fields, cs_uri_stem=f"/api/orders/{n}", c_ip=f"10.0.{n % 7}.{n % 250}")
        for n in range(97)
    ]
    bad = samples.iis_line(fields, sc_status=403, sc_substatus=16, sc_win32_status=2148204809)
    rests = [line.split(" ", 2)[2] for line in ok]
    failure = bad.split(" ", 2)[2]
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(samples.iis_header(fields, START))
        for block in range(count // FAILURE_EVERY):
            when = START + timedelta(seconds=block * 3)
            stamp = when.strftime("%Y-%m-%d %H:%M:%S ")
            lines = [stamp + rests[i % len(rests)] for i in range(FAILURE_EVERY - 1)]
            lines.append(stamp + failure)
            out.write("".join(lines))
    return count // FAILURE_EVERY


def interleaved(
    commands: dict[str, list[str]], rounds: int = ROUNDS
) -> dict[str, tuple[float, float, int, bytes]]:
    """Median wall and CPU time of each command over ``rounds`` interleaved runs (after one
    warm-up run each, so every file is in the page cache)."""
    runs: dict[str, list[tuple[float, float, int, bytes]]] = {name: [] for name in commands}
    for command in commands.values():
        timed(command)
    for _ in range(rounds):
        for name, command in commands.items():
            runs[name].append(timed(command))
    return {
        name: (
            statistics.median(r[0] for r in results),
            statistics.median(r[1] for r in results),
            max(r[2] for r in results),
            results[-1][3],
        )
        for name, results in runs.items()
    }


def compare(path: Path, marker: str, expected: int) -> None:
    size = path.stat().st_size
    results = interleaved(
        {
            "grep -c": ["grep", "-c", marker, str(path)],
            "grep -n | wc -l": ["sh", "-c", f"grep -n '{marker}' '{path}' | wc -l"],
            "certgate logs --json": [sys.executable, "-m", "certgate", "logs", "--json", str(path)],
        }
    )
    print(f"  {path.name}: {size / 1e6:,.0f} MB, {expected:,} failures; medians of {ROUNDS}")
    base_wall, base_cpu = results["grep -c"][0], results["grep -c"][1]
    for name, (wall, cpu, rss, out) in results.items():
        found = json.loads(out)["summary"]["events"] if name.startswith("certgate") else int(out)
        print(
            f"    {name:22} wall {wall:6.2f} s ({wall / base_wall:4.1f}x)  CPU {cpu:6.2f} s "
            f"({cpu / base_cpu:4.1f}x)  peak RSS {rss / 2**20:5.0f} MiB  found {found:,}"
        )
        if found != expected:
            print(f"    MISMATCH: expected {expected}")


def main(argv: list[str] | None = None) -> None:
    args = argv or ["svclog", "iis"]
    parts = set(args) & {"svclog", "iis"}
    sizes = [int(arg) * 1_000_000 for arg in args if arg.isdigit()] or [IIS_LINES]
    compileall.compile_dir(Path(certgate.__file__).parent, quiet=1)
    print("  load average (1, 5, 15 min): {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    folder = Path(tempfile.mkdtemp(prefix="certgate-bench-logs-"))
    try:
        free = shutil.disk_usage(folder).free
        needed = max(NEEDED_FREE, max(sizes) * 130 + SVCLOG_BYTES)
        if free < needed:
            print(f"  skipped: {free / 1e9:.1f} GB free under {folder}, need {needed / 1e9:.0f}")
            return
        if "svclog" in parts:
            svclog = folder / "service.svclog"
            compare(svclog, "HttpsClientCertificateInvalid", write_svclog(svclog))
            svclog.unlink()
        if "iis" in parts:
            for lines in sizes:
                iis = folder / f"u_ex240305_{lines // 1_000_000}m.log"
                compare(iis, "403 16 2148204809", write_iis(iis, lines))
                iis.unlink()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("  load average (1, 5, 15 min): {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main(sys.argv[1:])
