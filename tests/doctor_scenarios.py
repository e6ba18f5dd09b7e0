"""Generated machines for the doctor tests: one healthy server, and one per cause, each a
bundle written the way the collectors write it, with a sample client certificate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from certgate.core.iis import (
    Application,
    IisCertificateMapping,
    LocationConfig,
    OneToOneMapping,
    Site,
    SiteBinding,
)
from certgate.core.settings import FLAG_NEGOTIATE_CLIENT_CERT, Setting, SslBinding
from certgate.formats.sst import dump_sst
from certgate.testing import PKI, SERVER_AUTH, Issued, sst_bundle
from certgate.testing.logs import iis_header, iis_line
from certgate.testing.windows import (
    IIS_APP_ID,
    BundleSpec,
    application_host_config,
    netsh_sslcert,
    schannel_reg,
    write_bundle,
)


@dataclass
class Server:
    """A healthy IIS server and its client; scenarios break one thing."""

    pki: PKI
    root: Issued = field(init=False)
    issuing: Issued = field(init=False)
    client: Issued = field(init=False)
    others: list[Issued] = field(default_factory=list)
    misplaced: list[Issued] = field(default_factory=list)
    ca: list[Issued] = field(init=False)
    schannel: dict[str, Any] = field(default_factory=lambda: {"event_logging": 1})
    binding: SslBinding = field(init=False)
    locations: list[LocationConfig] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    extra: dict[str, bytes] = field(default_factory=dict)
    send_chain: bool = True

    def __post_init__(self) -> None:
        self.root = self.pki.root("CN=Contoso Root CA,O=Contoso Ltd,C=US")
        self.issuing = self.root.intermediate("CN=Contoso Issuing CA 02,O=Contoso Ltd,C=US")
        self.client = self.issuing.client("CN=alice,O=Contoso Ltd,C=US")
        self.others = [self.pki.root("CN=Fabrikam Root CA,O=Fabrikam Inc,C=US")]
        self.ca = [self.issuing]
        server = self.issuing.server("appsrv01.contoso.test")
        self.binding = SslBinding(
            endpoint="0.0.0.0:443",
            cert_hash=server.sha1,
            app_id=IIS_APP_ID,
            flags=Setting(FLAG_NEGOTIATE_CLIENT_CERT, "x"),
            url_retrieval_timeout=15000,
        )
        self.locations = [LocationConfig("Orders", "", "", access_ssl_flags=Setting(0x68, "x"))]

    def write(self, folder: Path) -> tuple[Path, Path]:
        spec = BundleSpec()
        roots = [self.root, *self.others, *self.misplaced]
        spec.add("stores/Root.sst", sst_bundle([(r, r.name) for r in roots]))
        spec.add("stores/CA.sst", sst_bundle([(c, c.name) for c in self.ca]))
        spec.add("schannel.reg", schannel_reg(**self.schannel))
        spec.add("netsh-sslcert.txt", netsh_sslcert([self.binding]))
        site = Site(
            "Orders", "1", (SiteBinding("https", "*:443:", Setting(0)),), (Application("/"),)
        )
        spec.add("applicationHost.config", application_host_config([site], self.locations))
        for name, text in self.logs.items():
            spec.add(f"logs/{name}", text)
        for name, data in self.extra.items():
            spec.add(name, data)
        bundle = write_bundle(folder / "bundle", spec)
        client = self.client.write_pem(folder / "client.pem", chain=self.send_chain)
        return bundle, client


def iis_log(start: datetime, rows: Sequence[tuple[int, int, int]], count: int = 5) -> str:
    """``count`` lines of each (status, substatus, win32) row, a minute apart."""
    lines = [iis_header(when=start)]
    for i in range(count):
        for j, (status, sub, win32) in enumerate(rows):
            when = start + timedelta(minutes=i, seconds=j)
            lines.append(
                iis_line(when=when, sc_status=status, sc_substatus=sub, sc_win32_status=win32)
            )
    return "".join(lines)


EMPTY_STORE = dump_sst([])
CERT_E_UNTRUSTEDROOT = 2148204809
CERT_E_EXPIRED = 2148204801
CRYPT_E_REVOCATION_OFFLINE = 2148081683
CRYPT_E_REVOKED = 2148081680
ERROR_NOT_SUPPORTED = 50  # sc-win32-status of 0x80070032: the Win32 code


def healthy(pki: PKI) -> Server:
    return Server(pki)


def seed_like(pki: PKI, **schannel: Any) -> Server:
    server = Server(pki)
    server.misplaced = [server.root.intermediate("CN=Contoso Issuing CA 01,O=Contoso Ltd,C=US")]
    server.schannel |= schannel
    server.logs["u_ex260601.log"] = iis_log(
        pki.now - timedelta(hours=1), [(403, 16, CERT_E_UNTRUSTEDROOT)]
    )
    return server


def root_bad_self_signature(pki: PKI) -> Server:
    """A root that names itself as issuer but whose signature its key does not verify (the
    shape of a root found in Windows Update root lists), and 403.16 in the logs."""
    server = Server(pki)
    name = "CN=CCA Lookalike 2015 SPL,O=Example Authority,C=IN"
    server.misplaced = [
        pki.issue(
            name,
            issuer=pki.root("CN=Unrelated Signer"),
            ca=True,
            issuer_name=pki.root(name).x509.subject,
        )
    ]
    server.logs["u_ex260601.log"] = iis_log(
        pki.now - timedelta(hours=1), [(403, 16, CERT_E_UNTRUSTEDROOT)]
    )
    return server


def missing_intermediate(pki: PKI) -> Server:
    server = Server(pki)
    server.ca = []
    server.send_chain = False
    return server


def missing_root(pki: PKI) -> Server:
    server = Server(pki)
    other = pki.root("CN=Partner Root CA,O=Partner,C=US")
    partner_ca = other.intermediate("CN=Partner Issuing CA,O=Partner,C=US")
    server.client = partner_ca.client("CN=bob,O=Partner,C=US")
    return server


def issuer_list_too_large(pki: PKI) -> Server:
    server = Server(pki, schannel={"send_issuer_list": 1})
    server.others = [
        pki.root(f"CN=Big Root {i:02d},OU={'x' * 900},O=Filler,C=US") for i in range(20)
    ]
    server.logs["u_ex260601.log"] = iis_log(pki.now - timedelta(hours=1), [(403, 7, 5)])
    return server


def client_expired(pki: PKI) -> Server:
    server = Server(pki)
    server.client = server.issuing.client("CN=carol,O=Contoso Ltd,C=US", expired=True)
    server.logs["u_ex260601.log"] = iis_log(
        pki.now - timedelta(hours=1), [(403, 17, CERT_E_EXPIRED)]
    )
    return server


def client_revoked(pki: PKI) -> Server:
    server = Server(pki)
    server.logs["u_ex260601.log"] = iis_log(
        pki.now - timedelta(hours=1), [(403, 13, CRYPT_E_REVOKED)]
    )
    return server


def client_wrong_eku(pki: PKI) -> Server:
    server = Server(pki)
    server.client = server.issuing.client("CN=web,O=Contoso Ltd,C=US", eku=(SERVER_AUTH,))
    return server


def revocation_offline(pki: PKI) -> Server:
    server = Server(pki)
    server.logs["u_ex260601.log"] = iis_log(
        pki.now - timedelta(hours=1), [(403, 16, CRYPT_E_REVOCATION_OFFLINE)]
    )
    return server


def ctl_store_empty(pki: PKI) -> Server:
    server = Server(pki)
    server.binding = replace(server.binding, ctl_store_name=Setting("PartnerCAs", "x"))
    server.extra["stores/PartnerCAs.sst"] = EMPTY_STORE
    return server


def renegotiation(pki: PKI) -> Server:
    server = Server(pki)
    server.binding = replace(server.binding, flags=Setting(0, "x"))
    server.logs["u_ex260601.log"] = iis_log(
        pki.now - timedelta(hours=1), [(500, 0, ERROR_NOT_SUPPORTED)]
    )
    return server


def mapping_below_site(pki: PKI) -> Server:
    server = Server(pki)
    mapping = IisCertificateMapping(
        enabled=Setting(True, "x"),
        one_to_one=(OneToOneMapping("AAAA", "CONTOSO\\alice"),),
    )
    server.locations.append(LocationConfig("Orders/api", "", "", iis_mapping=mapping))
    return server


def send_issuer_list_misspelled(pki: PKI) -> Server:
    server = Server(pki, schannel={"send_issuer_list": 1, "misspelled_send_issuers": 0})
    server.logs["u_ex260601.log"] = iis_log(pki.now - timedelta(hours=1), [(403, 7, 5)])
    return server
