"""``certgate doctor`` on a large bundle vs reading the same inputs alone.

The bundle: a Root store of 1,000 self-signed roots plus 3 misplaced intermediates (.sst), a CA
store, a SCHANNEL export, and a ~100 MB IIS W3C log (0.1 % ``403 16 2148204809``), with a sample
client certificate. Baselines, same run, same files: ``certgate logs --json`` on the log (the
log reading the doctor cannot avoid) and ``grep -c`` (the floor for finding the lines).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from certgate.testing import PKI, KeyType, sst_bundle
from certgate.testing.logs import iis_header
from certgate.testing.windows import BundleSpec, schannel_reg, write_bundle

LOG_BYTES = 100 * 1024 * 1024
START = datetime(2026, 3, 5, 0, 0, tzinfo=UTC)


def _log(path: Path) -> int:
    ok = "{} 10.0.0.5 GET /Orders/api/item - 443 - 10.0.0.9 Mozilla/5.0 - 200 0 0 15\r\n"
    bad = (
        "{} 10.0.0.5 POST /Orders/api/item - 443 - 10.0.0.17 Mozilla/5.0 - 403 16 2148204809 4\r\n"
    )
    failures = 0
    with path.open("w", encoding="ascii", newline="") as out:
        out.write(iis_header(when=START))
        written, i = 0, 0
        while written < LOG_BYTES:
            stamp = (START + timedelta(milliseconds=50 * i)).strftime("%Y-%m-%d %H:%M:%S")
            line = (bad if i % 1000 == 999 else ok).format(stamp)
            failures += i % 1000 == 999
            out.write(line)
            written += len(line)
            i += 1
    return failures


def _bundle(folder: Path) -> tuple[Path, Path, int]:
    pki = PKI(now=START + timedelta(days=1))
    contoso = pki.root("CN=Contoso Root CA,O=Contoso Ltd,C=US")
    roots = [pki.root(f"CN=Bench Root {i:04d},O=Bench,C=US", key=KeyType.P256) for i in range(999)]
    misplaced = [contoso.intermediate(f"CN=Misplaced CA {i}", key=KeyType.P256) for i in range(3)]
    issuing = contoso.intermediate("CN=Contoso Issuing CA 02,O=Contoso Ltd,C=US")
    client = issuing.client("CN=alice,O=Contoso Ltd,C=US")
    spec = BundleSpec()
    spec.add("stores/Root.sst", sst_bundle([contoso, *roots, *misplaced]))
    spec.add("stores/CA.sst", sst_bundle([issuing]))
    spec.add("schannel.reg", schannel_reg(event_logging=1))
    bundle = write_bundle(folder / "bundle", spec)
    (bundle / "logs").mkdir()
    failures = _log(bundle / "logs" / "u_ex260305.log")
    return bundle, client.write_pem(folder / "client.pem", chain=True), failures


def _timed(command: list[str]) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(2):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        best = min(best, time.perf_counter() - start)
        out = done.stdout
    return best, out


def main() -> None:
    certgate = str(Path(sys.executable).with_name("certgate"))
    with tempfile.TemporaryDirectory() as folder:
        bundle, client, failures = _bundle(Path(folder))
        log = bundle / "logs" / "u_ex260305.log"
        size = log.stat().st_size
        doctor, out = _timed(
            [
                certgate,
                "doctor",
                str(bundle),
                "--client-cert",
                str(client),
                "--at",
                "2026-03-06",
                "--json",
            ]
        )
        assert '"cause::root-not-self-signed"' in out and f'"count": {failures}' in out
        logs, _ = _timed([certgate, "logs", str(log), "--json"])
        grep, counted = _timed(["grep", "-c", "403 16 2148204809", str(log)])
        assert int(counted) == failures
    print(f"bundle: 1,003 certificates in Root, log {size / 1e6:,.0f} MB, {failures:,} failures")
    print(f"certgate doctor --json (whole diagnosis): {doctor:6.2f} s (best of 2)")
    print(f"baseline certgate logs --json (log only): {logs:6.2f} s")
    print(f"baseline grep -c (floor):                 {grep:6.2f} s")
