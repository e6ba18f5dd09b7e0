"""Generate a fleet of machine bundles for tests, the benchmark and demos: each server a bundle
as the collectors write it (manifest with its host name, stores, physical-stores.json, SCHANNEL,
netsh, IIS, logs), drawn from a mix of the doctor's scenarios.

Certificates are made once per fleet and each scenario's files rendered once: writing a server
is copying bytes, so 10,000 bundles take seconds. Logs are written once per scenario and
hard-linked into each bundle when possible (``log_bytes`` per bundle, read in full by the
doctor, one copy on disk).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from certgate.core.iis import Application, LocationConfig, Site, SiteBinding
from certgate.core.physical import PhysicalStore, PhysicalStores
from certgate.core.settings import FLAG_NEGOTIATE_CLIENT_CERT, Setting, SslBinding
from certgate.formats.physical import dump_physical_stores
from certgate.testing import PKI, Issued, KeyType, sst_bundle
from certgate.testing.logs import iis_header, iis_line
from certgate.testing.windows import (
    IIS_APP_ID,
    application_host_config,
    netsh_sslcert,
    schannel_reg,
)

__all__ = ["FLEET_AT", "SCENARIOS", "FleetServer", "write_fleet"]

FLEET_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CERT_E_UNTRUSTEDROOT = 2148204809
# scenario -> the doctor's top cause (None: healthy; "unreadable": a corrupt bundle)
SCENARIOS: dict[str, str | None] = {
    "healthy": None,
    "seed-local": "cause::root-not-self-signed",
    "seed-gpo": "cause::root-not-self-signed",
    "issuer-list-too-large": "cause::issuer-list-too-large",
    "ctl-store-empty": "cause::ctl-store-empty",
    "send-issuer-list-misspelled": "cause::send-issuer-list-misspelled",
    "corrupt": "unreadable",
    # not in the default mix: a healthy configuration with 403.16 failures in its logs that
    # no cause explains, and one whose second log file cannot be read
    "unexplained": "symptoms-unexplained",
    "incomplete": "incomplete",
}


@dataclass(frozen=True)
class FleetServer:
    name: str
    scenario: str
    path: Path


class _Templates:
    def __init__(self, log_bytes: int) -> None:
        pki = PKI(now=FLEET_AT)
        self.root = pki.root("CN=Contoso Root CA,O=Contoso Ltd,C=US")
        self.issuing = self.root.intermediate("CN=Contoso Issuing CA 02,O=Contoso Ltd,C=US")
        self.gpo_stray = self.root.intermediate("CN=Contoso Policy CA,O=Contoso Ltd,C=US")
        self.local_stray = self.root.intermediate("CN=Contoso Issuing CA 01,O=Contoso Ltd,C=US")
        self.others = [pki.root("CN=Fabrikam Root CA,O=Fabrikam Inc,C=US")]
        self.big = [
            pki.root(f"CN=Big Root {i:02d},OU={'x' * 900},O=Filler,C=US", key=KeyType.P256)
            for i in range(20)
        ]
        self.server = self.issuing.server("appsrv.contoso.test")
        self.log_bytes = log_bytes

    def files(self, scenario: str) -> dict[str, bytes]:
        roots = [self.root, *self.others]
        send_list: int | None = None
        misspelled: int | None = None
        binding = SslBinding(
            endpoint="0.0.0.0:443",
            cert_hash=self.server.sha1,
            app_id=IIS_APP_ID,
            flags=Setting(FLAG_NEGOTIATE_CLIENT_CERT, "x"),
            url_retrieval_timeout=15000,
        )
        extra: dict[str, bytes] = {}
        gpo: list[Issued] = []
        failing = False
        if scenario == "seed-local":
            roots.append(self.local_stray)
            failing = True
        elif scenario == "seed-gpo":
            roots.append(self.gpo_stray)
            gpo.append(self.gpo_stray)
            failing = True
        elif scenario == "issuer-list-too-large":
            roots += self.big
            send_list = 1
        elif scenario == "ctl-store-empty":
            binding = SslBinding(
                endpoint=binding.endpoint,
                cert_hash=binding.cert_hash,
                app_id=binding.app_id,
                flags=binding.flags,
                url_retrieval_timeout=15000,
                ctl_store_name=Setting("PartnerCAs", "x"),
            )
            extra["stores/PartnerCAs.sst"] = sst_bundle([])
        elif scenario == "send-issuer-list-misspelled":
            send_list, misspelled = 1, 0
        elif scenario == "unexplained":
            failing = True  # the clients' root is not this machine's problem to prove
        elif scenario == "incomplete":
            extra["logs/W3SVC1/u_ex260602.log.gz"] = b"\x1f\x8b\x08\x00 not gzip after all"
        site = Site(
            "Orders", "1", (SiteBinding("https", "*:443:", Setting(0)),), (Application("/"),)
        )
        access = LocationConfig("Orders", "", "", access_ssl_flags=Setting(0x68, "x"))
        files = {
            "stores/Root.sst": sst_bundle([(r, r.name) for r in roots]),
            "stores/CA.sst": sst_bundle([(self.issuing, self.issuing.name)]),
            "physical-stores.json": self._physical(roots, gpo),
            "schannel.reg": schannel_reg(
                event_logging=1, send_issuer_list=send_list, misspelled_send_issuers=misspelled
            ),
            "netsh-sslcert.txt": netsh_sslcert([binding]).encode(),
            "applicationHost.config": application_host_config([site], [access]).encode(),
            **extra,
        }
        files["logs/W3SVC1/u_ex260601.log"] = self._log(failing)
        return files

    def _physical(self, roots: Sequence[Issued], gpo: Sequence[Issued]) -> bytes:
        entries = [
            ("Root", r.sha1, [PhysicalStore.GROUP_POLICY if r in gpo else PhysicalStore.REGISTRY])
            for r in roots
        ]
        entries.append(("CA", self.issuing.sha1, [PhysicalStore.REGISTRY]))
        stores = PhysicalStores.build(["Root", "CA", "ClientAuthIssuer"], entries)
        return dump_physical_stores(stores)

    def _log(self, failing: bool) -> bytes:
        """``log_bytes`` of IIS W3C lines: 200s, plus 403.16 0x800B0109 on a failing server."""
        start = FLEET_AT - timedelta(hours=6)
        lines = [iis_header(when=start)]
        size, i = len(lines[0]), 0
        while size < self.log_bytes:
            when = start + timedelta(seconds=i % 20000)
            bad = failing and i % 4 == 0
            line = iis_line(
                when=when,
                sc_status=403 if bad else 200,
                sc_substatus=16 if bad else 0,
                sc_win32_status=CERT_E_UNTRUSTEDROOT if bad else 0,
            )
            lines.append(line)
            size += len(line)
            i += 1
        return "".join(lines).encode()


def _mix(count: int, gpo_share: float) -> list[str]:
    """Scenarios for ``count`` servers: ``gpo_share`` seed-gpo, the rest spread evenly over the
    other scenarios (half of them healthy); exactly one corrupt bundle when count >= 10."""
    gpo = round(count * gpo_share)
    corrupt = 1 if count >= 10 else 0
    others = [
        "seed-local",
        "issuer-list-too-large",
        "ctl-store-empty",
        "send-issuer-list-misspelled",
    ]
    rest = count - gpo - corrupt
    mix = ["seed-gpo"] * gpo + ["corrupt"] * corrupt
    for i in range(rest):
        mix.append("healthy" if i % 2 == 0 else others[(i // 2) % len(others)])
    return mix


def write_fleet(
    folder: Path,
    count: int,
    *,
    gpo_share: float = 0.05,
    log_bytes: int = 20_000,
    scenarios: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[FleetServer]:
    """Write ``count`` bundle folders ``folder/srv-NNNNN`` (host ``SRV-NNNNN`` in the manifest)
    and return what each is. Scenarios are interleaved so any prefix is a similar mix."""
    mix = list(scenarios) if scenarios is not None else _mix(count, gpo_share)
    order = sorted(range(len(mix)), key=lambda i: (i * 7919) % len(mix))
    mix = [mix[i] for i in order]
    templates = _Templates(log_bytes)
    cache: dict[str, dict[str, bytes]] = {}
    shared = folder / ".shared-logs"
    servers = []
    for index, scenario in enumerate(mix):
        name = f"SRV-{index:05d}"
        path = folder / name.lower()
        if scenario == "corrupt":
            _write(path / "stores" / "Root.sst", b"\x00not a store at all")
            _write(path / "manifest.json", f'{{"host": "{name}"}}'.encode())
        else:
            files = cache.get(scenario) or cache.setdefault(scenario, templates.files(scenario))
            for rel, data in files.items():
                if rel.startswith("logs/"):
                    _link(shared / scenario / rel, path / rel, data)
                else:
                    _write(path / rel, data)
            manifest = (
                f'{{"host": "{name}", "collector": "certgate testing_fleet", "bundle_format": 2}}'
            )
            _write(path / "manifest.json", manifest.encode())
        servers.append(FleetServer(name, scenario, path))
        if progress:
            progress(index + 1)
    return servers


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _link(source: Path, target: Path, data: bytes) -> None:
    if not source.exists():
        _write(source, data)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        target.write_bytes(data)
