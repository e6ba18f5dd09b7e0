"""``certgate logs --json`` against ``grep -c`` on the same files, in the same run.

Generates (under a temporary directory, deleted afterwards) a 1 GB WCF svclog, mostly
routine records with 0.1 % HttpsClientCertificateInvalid 0x109 failures, and a 10-million-line
IIS W3C log with 0.1 % ``403 16 2148204809`` lines. Each tool runs twice per file (the page
cache warm after the first run); the best time counts. Peak RSS is the child's ``ru_maxrss``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from certgate.logs import samples

SVCLOG_BYTES = 1_000_000_000
IIS_LINES = 10_000_000
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


def write_iis(path: Path) -> int:
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
        for block in range(IIS_LINES // FAILURE_EVERY):
            when = START + timedelta(seconds=block * 3)
            stamp = when.strftime("%Y-%m-%d %H:%M:%S ")
            lines = [stamp + rests[i % len(rests)] for i in range(FAILURE_EVERY - 1)]
            lines.append(stamp + failure)
            out.write("".join(lines))
    return IIS_LINES // FAILURE_EVERY


def timed(command: list[str]) -> tuple[float, int, bytes]:
    """(seconds, peak RSS in bytes, stdout) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert child.stdout is not None
    output = child.stdout.read()
    _pid, _status, usage = os.wait4(child.pid, 0)
    child.returncode = 0
    return time.perf_counter() - start, usage.ru_maxrss * 1024, output


def best(command: list[str], runs: int = 2) -> tuple[float, int, bytes]:
    results = [timed(command) for _ in range(runs)]
    return min(results, key=lambda r: r[0])[0], max(r[1] for r in results), results[-1][2]


def compare(path: Path, marker: str, expected: int) -> None:
    size = path.stat().st_size
    certgate = [sys.executable, "-m", "certgate", "logs", "--json", str(path)]
    grep_s, _grep_rss, grep_out = best(["grep", "-c", marker, str(path)])
    ours_s, ours_rss, ours_out = best(certgate)
    events = json.loads(ours_out)["summary"]["events"]
    print(
        f"  {path.name}: {size / 1e6:,.0f} MB, {expected:,} failures\n"
        f"    grep -c {marker!r}: {grep_s:.2f} s ({size / grep_s / 1e6:,.0f} MB/s), "
        f"count {int(grep_out)}\n"
        f"    certgate logs --json: {ours_s:.2f} s ({size / ours_s / 1e6:,.0f} MB/s), "
        f"{events:,} events, peak RSS {ours_rss / 2**20:.0f} MiB\n"
        f"    ratio: {ours_s / grep_s:.1f}x grep"
    )
    if events != expected or int(grep_out) != expected:
        print(f"    MISMATCH: expected {expected} everywhere")


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="certgate-bench-logs-"))
    try:
        free = shutil.disk_usage(folder).free
        if free < NEEDED_FREE:
            print(
                f"  skipped: {free / 1e9:.1f} GB free under {folder}, need {NEEDED_FREE / 1e9:.0f}"
            )
            return
        svclog = folder / "service.svclog"
        iis = folder / "u_ex240305.log"
        started = time.perf_counter()
        svclog_failures = write_svclog(svclog)
        iis_failures = write_iis(iis)
        print(f"  generated in {time.perf_counter() - started:.0f} s under {folder}")
        compare(svclog, "HttpsClientCertificateInvalid", svclog_failures)
        compare(iis, "403 16 2148204809", iis_failures)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
