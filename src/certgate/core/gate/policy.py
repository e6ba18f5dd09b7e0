"""The gate's policy as values: trust, requirements, identity mapping, locations, limits.

Built by ``certgate.gate.config`` from one TOML file (stores and CRLs already loaded); every
value here is checked there, so a ``Policy`` is always whole and valid.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from enum import StrEnum

from cryptography import x509

from certgate.core.engines import ENGINES
from certgate.core.engines._schannel import fit_issuer_list
from certgate.core.gate.mapping import MappingConfig
from certgate.core.issuers import trusted_issuer_list
from certgate.core.model import Certificate
from certgate.core.names import Name
from certgate.core.stores import Machine

__all__ = [
    "AnswerFormat",
    "ClientCertMode",
    "HintSource",
    "Limits",
    "Location",
    "Policy",
]


class ClientCertMode(StrEnum):
    """Per path prefix, as IIS ``<access sslFlags>`` per ``<location>``
    (docs/windows-model.md#iis-access-sslflags)."""

    IGNORE = "ignore"  # sslFlags without SslNegotiateCert: the certificate is not looked at
    ACCEPT = "accept"  # SslNegotiateCert: optional, but an invalid one is still 403.16
    REQUIRE = "require"  # SslNegotiateCert, SslRequireCert: none is 403.7


class HintSource(StrEnum):
    """The CA names sent in the TLS CertificateRequest."""

    WINDOWS = "windows"  # Schannel: the trusted-issuer list, only when SendTrustedIssuerList=1
    STORE = "store"  # every certificate of one named store
    NONE = "none"


class AnswerFormat(StrEnum):
    JSON = "json"
    HTML = "html"
    AUTO = "auto"  # HTML when the client's Accept prefers text/html, else JSON


@dataclass(frozen=True)
class Location:
    path: str  # a path prefix, "/" for everything
    client_cert: ClientCertMode = ClientCertMode.REQUIRE
    identity_required: bool = False  # no mapped identity: 401.2

    def covers(self, path: str) -> bool:
        """Prefix match on whole segments, case-insensitive as IIS matches paths."""
        prefix = self.path.rstrip("/").casefold()
        path = path.casefold()
        return prefix in ("", path) or path.startswith(prefix + "/")


@dataclass(frozen=True)
class Limits:
    max_header_bytes: int = 16384
    max_headers: int = 100
    max_body_bytes: int = 10 << 20
    idle_timeout: float = 60.0
    handshake_timeout: float = 10.0
    header_timeout: float = 10.0  # from a request's first byte to its last header
    max_chain_certificates: int = 10  # leaf included
    max_chain_bytes: int = 65536
    shutdown_grace: float = 10.0
    upstream_connect_timeout: float = 10.0
    upstream_header_timeout: float = 60.0  # from the request's last byte to the answer's headers
    upstream_idle_timeout: float = 60.0  # between two chunks of a body, either way
    # budgets per client address (``certgate.gate.judging.AddressBudget``), over one window
    budget_window: float = 10.0
    client_judging_budget: float = 0.1  # CPU s of rejected judgements, then 403.502
    all_clients_judging_budget: float = 0.5  # the same, every address together
    client_max_pending: int = 4  # judgements waiting per address, then 403.502
    client_free_denials: int = 4  # certificate denials answered at once, then slowed
    denial_delay_step: float = 0.2  # the first slowed answer's delay, doubling
    denial_delay_max: float = 3.0
    slowed_max_connections: int = 4  # open connections of a slowed address
    slowed_crowd: int = 4  # addresses slowed at once that end everyone's free denials


@dataclass(frozen=True)
class Policy:
    engine: str = "windows"
    machine: Machine = field(default_factory=Machine)
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    require_revocation: bool = False
    partial_chain: bool = False
    required_eku: tuple[str, ...] = ()
    allowed_issuers: tuple[Name, ...] = ()
    pins: frozenset[str] = frozenset()  # lower-case hex SHA-256 of the leaf or of its SPKI
    mapping: MappingConfig = field(default_factory=MappingConfig)
    locations: tuple[Location, ...] = (Location("/"),)
    limits: Limits = field(default_factory=Limits)
    hints: HintSource = HintSource.WINDOWS
    hint_store: str | None = None
    tls_versions: tuple[str, ...] = ("1.2", "1.3")
    answer_format: AnswerFormat = AnswerFormat.AUTO
    crl_refresh: float = 0.0  # seconds between re-reading CRL files; 0 = never
    # clients whose Forwarded / X-Forwarded-* / X-Real-IP headers are kept (and appended to)
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    source: str = ""  # the policy file, for messages

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {tuple(ENGINES)}, not {self.engine!r}")
        conflicts = self.conflicts()
        if conflicts:
            raise ValueError("; ".join(conflicts))
        ordered = sorted(self.locations, key=lambda loc: len(loc.path.rstrip("/")), reverse=True)
        object.__setattr__(self, "locations", tuple(ordered))

    def conflicts(self) -> list[str]:
        """Options the chosen engine would not honour: such a policy is refused, never
        silently weakened."""
        found = []
        binding = self.machine.binding
        if self.engine == "windows" and self.require_revocation and not binding.checks_revocation:
            found.append(
                "trust.require_revocation = true, but the binding's DefaultCertCheckMode "
                f"({binding.cert_check_mode.value:#x}) turns revocation checking off, so the "
                "windows engine would not check it: remove one of them"
            )
        if self.engine == "windows" and self.partial_chain:
            found.append(
                "trust.partial_chain is an OpenSSL option the windows engine has no counterpart "
                "for; to trust CA certificates directly use trust_mode = 2 (Exclusive CA Trust)"
            )
        return found

    def location_for(self, path: str) -> Location:
        """The most specific location covering ``path`` (IIS: the deepest ``<location>``)."""
        for location in self.locations:
            if location.covers(path):
                return location
        return Location("/", ClientCertMode.IGNORE)

    @property
    def requests_certificate(self) -> bool:
        """Ask for a client certificate in the handshake (clientcertnegotiation=enable)."""
        return any(loc.client_cert is not ClientCertMode.IGNORE for loc in self.locations)

    def hint_certificates(self) -> tuple[Certificate, ...]:
        """The CA names to send, built as Schannel builds them (16 KB cap included)."""
        if self.hints is HintSource.NONE:
            return ()
        if self.hints is HintSource.STORE:
            return self.machine.store(self.hint_store or "ClientAuthIssuer").certificates
        if not self.machine.schannel.send_trusted_issuer_list.value:
            return ()
        kept, _ = fit_issuer_list(trusted_issuer_list(self.machine).certificates)
        return kept

    def with_crls(self, crls: tuple[x509.CertificateRevocationList, ...]) -> Policy:
        return replace(self, crls=crls)

    def with_machine(self, machine: Machine) -> Policy:
        return replace(self, machine=machine)
