"""``make demo``: the support case behind certgate, built and diagnosed on any machine.

An IIS server whose LocalMachine\\Root holds intermediate CAs next to real roots: every client
certificate gets 403.16. ``build_seed_case`` writes that server as a machine bundle with its
logs (a WCF svclog with 0x109 events, an IIS log with ``403 16 2148204809``) and a sample client
certificate; ``certgate doctor --demo`` diagnoses it. ``python -m certgate.demo`` is an alias.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from certgate.core.iis import Application, LocationConfig, Site, SiteBinding
from certgate.core.settings import Setting, SslBinding
from certgate.exitcode import ExitCode
from certgate.testing.logs import write_seed_case
from certgate.testing.logs.iis import iis_line, w3c_line
from certgate.testing import PKI, Issued, KeyType, pkcs7_bundle, sst_bundle
from certgate.testing.windows import (
    IIS_APP_ID,
    BundleSpec,
    application_host_config,
    netsh_sslcert,
    schannel_reg,
    write_bundle,
    zip_folder,
)

__all__ = [
    "SEED_EVENTS",
    "DemoMachine",
    "SeedCase",
    "build_demo_machine",
    "build_demo_store",
    "build_seed_case",
    "run",
    "seed_times",
    "write_demo_folder",
]

SEED_EVENTS = 1204  # HttpsClientCertificateInvalid records, and as many IIS 403.16 lines
SEED_INTERVAL = timedelta(minutes=98) / (SEED_EVENTS - 1)  # the last one at 11:40


def seed_times(now: datetime) -> tuple[datetime, datetime]:
    """(first logged failure, when the engineer looks) for a seed case built at ``now``: the
    failures ran from 10:02 to 11:40 UTC the day before, the certificates are valid ``now``, so
    every command run on the demo files without ``--at`` tells the seed story."""
    day = (now.astimezone(UTC) - timedelta(days=1)).date()
    start = datetime(day.year, day.month, day.day, 10, 2, tzinfo=UTC)
    return start, now.astimezone(UTC).replace(microsecond=0)


def _demo_pki(pki: PKI) -> tuple[Issued, Issued, list[tuple[Issued, str]]]:
    contoso = pki.root("CN=Contoso Root CA,O=Contoso Ltd,C=US")
    issuing = contoso.intermediate("CN=Contoso Issuing CA 01,O=Contoso Ltd,C=US", path_length=0)
    others = [
        pki.root("CN=Fabrikam Root CA,O=Fabrikam Inc,C=US", key=KeyType.P256),
        pki.root("CN=Northwind Root CA,O=Northwind Traders,C=GB"),
    ]
    entries: list[tuple[Issued, str]] = [(contoso, "Contoso Root CA")]
    entries += [(root, root.name) for root in others]
    entries.append((issuing, "Contoso Issuing CA 01"))  # the mistake: an intermediate in Root
    return contoso, issuing, entries


def build_demo_store(folder: Path) -> Path:
    """Write ``Root.sst``: three genuine roots plus one misplaced intermediate."""
    _, _, entries = _demo_pki(PKI())
    path = folder / "Root.sst"
    path.write_bytes(sst_bundle([(item.x509, name) for item, name in entries]))
    return path


@dataclass(frozen=True)
class DemoMachine:
    folder: Path  # the machine bundle: Root.sst, CA.p7b
    client: Path  # client.pem: the user's certificate
    chain: Path  # chain.pem: the intermediate the client sends with it
    misplaced_sha1: str  # the intermediate sitting in Root
    key: Path  # client.key: the client certificate's private key (live requests to the gate)


def build_demo_machine(folder: Path, pki: PKI | None = None) -> DemoMachine:
    """Write a machine bundle for ``certgate verify``: the KB 2802568 server, and a client.

    The server's Root holds genuine roots plus a misplaced intermediate (Contoso Issuing CA
    01); its CA store holds Contoso Issuing CA 02, which issued the client certificate. Under
    the default ClientAuthTrustMode=0 the client gets 403.16; ``--what-if trust-mode=2``
    accepts it.
    """
    pki = pki or PKI()
    contoso, misplaced, entries = _demo_pki(pki)
    issuing = contoso.intermediate("CN=Contoso Issuing CA 02,O=Contoso Ltd,C=US", path_length=0)
    client = issuing.client(
        "CN=alice,OU=Finance,O=Contoso Ltd,C=US", san=["email:alice@contoso.example"]
    )
    bundle = folder / "machine"
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "Root.sst").write_bytes(sst_bundle([(i.x509, name) for i, name in entries]))
    (bundle / "CA.p7b").write_bytes(pkcs7_bundle([issuing]))
    client_pem = client.write_pem(folder / "client.pem")
    chain_pem = issuing.write_pem(folder / "chain.pem")
    key = client.write_key(folder / "client.key")
    return DemoMachine(bundle, client_pem, chain_pem, misplaced.sha1, key)


@dataclass(frozen=True)
class SeedCase:
    folder: Path  # the machine bundle: stores/, schannel.reg, netsh-sslcert.txt, IIS, logs/
    client: Path  # client.pem: the user's certificate and the intermediate it sends
    misplaced: tuple[str, ...]  # thumbprints of the intermediates sitting in Root
    at: datetime
    key: Path  # client.key: the client certificate's key, for live requests to the gate


def build_seed_case(
    folder: Path, pki: PKI | None = None, now: datetime | None = None, *, extras: bool = False
) -> SeedCase:
    """The support case the project starts from, as a bundle collected from the server.

    Root holds three genuine roots and three intermediates that belong in the CA store; the
    SCHANNEL key sets no ClientAuthTrustMode (default 0); the binding does not ask for the
    certificate up front and the site requires one; the logs hold 1,204 WCF
    HttpsClientCertificateInvalid 0x109 records and as many IIS 403 16 2148204809 lines, from
    10:02 to 11:40 UTC. alice's certificate, issued by Contoso Issuing CA 02 (in CA), is
    rejected: 403.16. The logs are dated the day before ``now`` (default: the clock's now),
    the certificates valid at ``now``. ``extras`` also writes what the README's examples use
    beyond the bundle: ``alice.pfx`` (password ``demo``), ``server.pem``, ``issuing.crl`` and
    ``Disallowed.pem`` (an unrelated retired CA).
    """
    start, at = seed_times(now or datetime.now(UTC))
    pki = pki or PKI(now=at)
    contoso = pki.root("CN=Contoso Root CA,O=Contoso Ltd,C=US")
    fabrikam = pki.root("CN=Fabrikam Root CA,O=Fabrikam Inc,C=US", key=KeyType.P256)
    northwind = pki.root("CN=Northwind Root CA,O=Northwind Traders,C=GB")
    misplaced = [
        contoso.intermediate("CN=Contoso Issuing CA 01,O=Contoso Ltd,C=US", path_length=0),
        fabrikam.intermediate("CN=Fabrikam Issuing CA,O=Fabrikam Inc,C=US", path_length=0),
        northwind.intermediate("CN=Northwind Partner CA,O=Northwind Traders,C=GB"),
    ]
    issuing = contoso.intermediate("CN=Contoso Issuing CA 02,O=Contoso Ltd,C=US", path_length=0)
    client = issuing.client(
        "CN=alice,OU=Finance,O=Contoso Ltd,C=US", san=["email:alice@contoso.example"]
    )
    server = issuing.server("appsrv01.contoso.example")
    roots = [(r, r.name) for r in (contoso, fabrikam, northwind)]
    spec = BundleSpec()
    spec.add("stores/Root.sst", sst_bundle([*roots, *((m, m.name) for m in misplaced)]))
    spec.add("stores/CA.sst", sst_bundle([(issuing, issuing.name)]))
    spec.add("schannel.reg", schannel_reg(event_logging=1))
    spec.add("netsh-sslcert.txt", netsh_sslcert([_seed_binding(server)]))
    spec.add("applicationHost.config", _seed_iis())
    bundle = write_bundle(folder / "bundle", spec)
    write_seed_case(bundle / "logs", start, SEED_EVENTS, SEED_INTERVAL)
    client_pem = client.write_pem(folder / "alice.pem", chain=True)
    key = client.write_key(folder / "alice.key")
    if extras:
        (folder / "alice.pfx").write_bytes(client.pfx(b"demo"))
        server.write_pem(folder / "server.pem", chain=True)
        (folder / "issuing.crl").write_bytes(issuing.crl().public_bytes(Encoding.DER))
        retired = pki.root("CN=Woodgrove Retired CA,O=Woodgrove Bank,C=US")
        retired.write_pem(folder / "Disallowed.pem")
        _write_pasted_logs(folder, start)
    return SeedCase(bundle, client_pem, tuple(m.sha1 for m in misplaced), at, key)


def write_demo_folder(folder: Path) -> SeedCase:
    """Everything the README's examples use, written into ``folder`` (``make demo``: ``demo/``):

    - ``bundle/`` and ``bundle.zip``: the seed case as ``certgate collect`` would collect it
      (``bundle/logs/`` holds its ``service.svclog`` and ``u_ex<date>.log``), ``alice.pem``
      (+ ``alice.key``): the rejected user's certificate with its chain;
    - ``Root.sst``, ``CA.sst``, ``schannel.reg``: the bundle's parts as loose files;
    - ``machine/``, ``client.pem``, ``chain.pem``, ``client.key``: the smaller machine bundle of
      ``certgate verify``'s examples and the gate demo (``build_demo_machine``), and
      ``misplaced.sha1``, the thumbprint of the intermediate in its Root;
    - ``alice.pfx``, ``server.pem``, ``issuing.crl``, ``Disallowed.pem`` (``extras`` above).
    """
    folder.mkdir(parents=True, exist_ok=True)
    case = build_seed_case(folder, extras=True)
    zip_folder(case.folder, folder / "bundle.zip")
    for name in ("stores/Root.sst", "stores/CA.sst", "schannel.reg"):
        (folder / Path(name).name).write_bytes((case.folder / name).read_bytes())
    demo = build_demo_machine(folder)
    (folder / "misplaced.sha1").write_text(demo.misplaced_sha1 + "\n", encoding="ascii")
    return case


ROWS_FIELDS = ("date", "time", "c-ip", "sc-status", "sc-substatus", "sc-win32-status")


def _write_pasted_logs(folder: Path, start: datetime) -> None:
    """``ticket.txt``: IIS rows pasted into a support ticket, redacted, without ``#Fields``;
    ``rows.log``: rows that lost their ``#Fields`` line, in a custom field set."""
    failures = [start + i * timedelta(minutes=7) for i in range(3)]
    pasted = [
        iis_line(
            when=when,
            c_ip="<IP_address>",
            sc_status=403,
            sc_substatus=16,
            sc_win32_status=2148204809,
        ).rstrip()
        for when in failures
    ]
    (folder / "ticket.txt").write_text(
        "Since this morning every call to the Orders service fails with 403.\n"
        "From the IIS log on appsrv01:\n\n" + "\n".join(pasted) + "\n\nThanks, Dana\n",
        encoding="utf-8",
    )
    rows = [
        w3c_line(
            ROWS_FIELDS,
            {
                "date": f"{when:%Y-%m-%d}",
                "time": f"{when:%H:%M:%S}",
                "c-ip": "10.0.0.9",
                "sc-status": 403,
                "sc-substatus": 16,
                "sc-win32-status": 2148204809,
            },
        )
        for when in failures
    ]
    (folder / "rows.log").write_text("".join(rows), encoding="utf-8", newline="")


def _seed_binding(server: Issued) -> SslBinding:
    return SslBinding(
        endpoint="0.0.0.0:8443",
        cert_hash=server.sha1,
        app_id=IIS_APP_ID,
        cert_store_name="My",
        url_retrieval_timeout=0,
        flags=Setting(0, "seed"),
    )


def _seed_iis() -> str:
    site = Site(
        "Orders",
        "2",
        (SiteBinding("https", "*:8443:", Setting(0)),),
        (Application("/"),),
    )
    access = LocationConfig("Orders", "", "", access_ssl_flags=Setting(0x68, "seed"))
    return application_host_config([site], [access])


def run(argv: list[str] | None = None) -> int:
    """``python -m certgate.demo``: the same as ``certgate doctor --demo``."""
    from certgate.cli import main

    code = main(["doctor", "--demo", *(argv or [])])
    found = code in (ExitCode.OK, ExitCode.FINDINGS)  # finding the planted cause is success
    return ExitCode.OK if found else code

