"""Reading a large machine bundle: ``load_machine`` on a zip vs ``unzip -p`` of the same zip.

The bundle: a Root store of 300 certificates (.sst), a Format-List listing of 2,000 entries
(UTF-16, as PowerShell 5.1 writes it), netsh output with 500 bindings, an applicationHost.config
with 500 sites and 500 <location> sections, and a SCHANNEL export. The baseline only inflates
the members (``unzip -p bundle.zip > /dev/null``): the floor for any reader of the same zip.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from certgate.core.iis import LocationConfig, Site, SiteBinding
from certgate.core.settings import Setting, SslBinding
from certgate.inputs.bundle import load_machine
from certgate.testing import PKI, sst_bundle
from certgate.testing.listings import format_list
from certgate.testing.windows import (
    BundleSpec,
    application_host_config,
    netsh_sslcert,
    schannel_reg,
    write_bundle,
    zip_folder,
)


def _bundle(folder: Path) -> Path:
    pki = PKI()
    root = pki.root("Bench Root CA")
    certs = [root.intermediate(f"Bench CA {i}") for i in range(300)]
    listing = [c.certificate for c in certs] * 7
    bindings = [
        replace(SslBinding(), endpoint=f"10.0.{i // 250}.{i % 250}:443", flags=Setting(2))
        for i in range(500)
    ]
    sites = [
        Site(f"Site {i}", str(i), (SiteBinding("https", f"*:443:s{i}.test"),)) for i in range(500)
    ]
    locations = [
        LocationConfig(f"Site {i}/api", "", "", access_ssl_flags=Setting(0x68, "x"))
        for i in range(500)
    ]
    spec = BundleSpec().add("stores/Root.sst", sst_bundle(certs))
    spec.add("stores/CA.txt", format_list(listing[:2000], "CA").encode("utf-16"))
    spec.add("netsh-sslcert.txt", netsh_sslcert(bindings))
    spec.add("applicationHost.config", application_host_config(sites, locations))
    spec.add("schannel.reg", schannel_reg(trust_mode=2, event_logging=7))
    return zip_folder(write_bundle(folder / "b", spec), folder / "bundle.zip")


def _best(action: object, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        archive = _bundle(Path(folder))
        size = archive.stat().st_size
        loaded = load_machine(archive)
        machine = loaded.machine
        assert len(machine.store("Root")) == 300 and len(machine.listed) == 2000
        assert len(machine.bindings) == 500 and machine.iis is not None
        ours = _best(lambda: load_machine(archive))
        unzip = _best(
            lambda: subprocess.run(
                ["unzip", "-p", str(archive)], stdout=subprocess.DEVNULL, check=True
            )
        )
    print(f"bundle zip: {size:,} bytes; 300 certs, 2,000 listed, 500 bindings, 500 sites")
    print(f"certgate load_machine (parse everything): {ours * 1000:8.1f} ms (best of 5)")
    print(f"baseline unzip -p > /dev/null (inflate):  {unzip * 1000:8.1f} ms (best of 5)")
