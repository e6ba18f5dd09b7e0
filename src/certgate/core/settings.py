"""Windows settings that decide client-certificate trust, each with where its value came from.

A value read from a file carries ``source`` ("schannel.reg:12"); a value nobody set carries
``source=None`` and is the Windows default, which reports must say they assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from typing import Generic, TypeVar

__all__ = [
    "CERT_CHECK_CACHED_REVOCATION",
    "CERT_CHECK_NAMES",
    "CERT_CHECK_NO_REVOCATION",
    "CERT_CHECK_NO_USAGE_CHECK",
    "CERT_CHECK_REVOCATION_FRESHNESS",
    "DEFAULT_FLAG_NAMES",
    "FLAG_DISABLE_HTTP2",
    "FLAG_DISABLE_LEGACY_TLS",
    "FLAG_DISABLE_TLS13",
    "FLAG_NEGOTIATE_CLIENT_CERT",
    "FLAG_USE_DS_MAPPER",
    "SCHANNEL_VALUE_NAMES",
    "ProtocolSetting",
    "SchannelSettings",
    "Setting",
    "SslBinding",
    "bit_names",
    "intended_value_name",
]

T = TypeVar("T")

# HTTP_SERVICE_CONFIG_SSL_PARAM.DefaultCertCheckMode bits (docs/windows-model.md#netsh-show-sslcert)
# [confirmed]
CERT_CHECK_NO_REVOCATION = 0x1
CERT_CHECK_CACHED_REVOCATION = 0x2
CERT_CHECK_REVOCATION_FRESHNESS = 0x4
CERT_CHECK_CACHED_URLS = 0x8
CERT_CHECK_NO_AIA = 0x10
CERT_CHECK_NO_USAGE_CHECK = 0x10000
CERT_CHECK_NAMES: tuple[tuple[int, str], ...] = (
    (CERT_CHECK_NO_REVOCATION, "NO_REVOCATION"),
    (CERT_CHECK_CACHED_REVOCATION, "CACHED_REVOCATION"),
    (CERT_CHECK_REVOCATION_FRESHNESS, "USE_REVOCATION_FRESHNESS"),
    (CERT_CHECK_CACHED_URLS, "CACHED_URLS"),
    (CERT_CHECK_NO_AIA, "NO_AIA"),
    (CERT_CHECK_NO_USAGE_CHECK, "NO_USAGE_CHECK"),
)

# DefaultFlags bits [confirmed up to 0x4; later bits from Win32 metadata]
FLAG_USE_DS_MAPPER = 0x1
FLAG_NEGOTIATE_CLIENT_CERT = 0x2
FLAG_NO_RAW_FILTER = 0x4
FLAG_REJECT = 0x8
FLAG_DISABLE_HTTP2 = 0x10
FLAG_DISABLE_QUIC = 0x20
FLAG_DISABLE_TLS13 = 0x40
FLAG_DISABLE_OCSP_STAPLING = 0x80
FLAG_ENABLE_TOKEN_BINDING = 0x100
FLAG_LOG_EXTENDED_EVENTS = 0x200
FLAG_DISABLE_LEGACY_TLS = 0x400
FLAG_ENABLE_SESSION_TICKET = 0x800
FLAG_DISABLE_TLS12 = 0x1000
FLAG_ENABLE_CLIENT_CORRELATION = 0x2000
FLAG_DISABLE_SESSION_ID = 0x4000
FLAG_ENABLE_CACHE_CLIENT_HELLO = 0x8000
DEFAULT_FLAG_NAMES: tuple[tuple[int, str], ...] = (
    (FLAG_USE_DS_MAPPER, "USE_DS_MAPPER"),
    (FLAG_NEGOTIATE_CLIENT_CERT, "NEGOTIATE_CLIENT_CERT"),
    (FLAG_NO_RAW_FILTER, "NO_RAW_FILTER"),
    (FLAG_REJECT, "REJECT"),
    (FLAG_DISABLE_HTTP2, "DISABLE_HTTP2"),
    (FLAG_DISABLE_QUIC, "DISABLE_QUIC"),
    (FLAG_DISABLE_TLS13, "DISABLE_TLS13"),
    (FLAG_DISABLE_OCSP_STAPLING, "DISABLE_OCSP_STAPLING"),
    (FLAG_ENABLE_TOKEN_BINDING, "ENABLE_TOKEN_BINDING"),
    (FLAG_LOG_EXTENDED_EVENTS, "LOG_EXTENDED_EVENTS"),
    (FLAG_DISABLE_LEGACY_TLS, "DISABLE_LEGACY_TLS"),
    (FLAG_ENABLE_SESSION_TICKET, "ENABLE_SESSION_TICKET"),
    (FLAG_DISABLE_TLS12, "DISABLE_TLS12"),
    (FLAG_ENABLE_CLIENT_CORRELATION, "ENABLE_CLIENT_CORRELATION"),
    (FLAG_DISABLE_SESSION_ID, "DISABLE_SESSION_ID"),
    (FLAG_ENABLE_CACHE_CLIENT_HELLO, "ENABLE_CACHE_CLIENT_HELLO"),
)

# Value names under the SCHANNEL key that certgate knows (docs/windows-model.md#trust-modes,
# #send-trusted-issuer-list, #schannel-settings); used
# to recognise near misses such as the SendTrustedIssuers seen in the wild [secondary].
SCHANNEL_VALUE_NAMES = (
    "ClientAuthTrustMode",
    "SendTrustedIssuerList",
    "EventLogging",
    "CertificateMappingMethods",
    "IssuerCacheSize",
    "IssuerCacheTime",
    "MessageLimitServerClientAuth",
)


def bit_names(value: int, names: tuple[tuple[int, str], ...]) -> tuple[str, ...]:
    """``0x12`` -> ``("NEGOTIATE_CLIENT_CERT", "DISABLE_HTTP2")``; unknown bits as hex."""
    found = [name for bit, name in names if value & bit]
    rest = value & ~sum(bit for bit, _ in names)
    return (*found, f"0x{rest:x}") if rest else tuple(found)


def intended_value_name(name: str) -> str | None:
    """The real SCHANNEL value ``name`` is a near miss of, or None (exact names are not misses).

    Registry names are case-insensitive, so a case difference is no misspelling.
    """
    folded = name.casefold()
    for real in SCHANNEL_VALUE_NAMES:
        if folded == real.casefold():
            return None
    for real in SCHANNEL_VALUE_NAMES:
        ratio = SequenceMatcher(None, folded, real.casefold()).ratio()
        if ratio >= 0.8:
            return real
    return None


@dataclass(frozen=True)
class Setting(Generic[T]):
    """A value and where it came from; ``source=None`` means the Windows default was assumed."""

    value: T
    source: str | None = None

    @property
    def is_default(self) -> bool:
        return self.source is None

    def describe(self) -> str:
        return f"{self.value} ({self.source})" if self.source else f"{self.value} (default)"


@dataclass(frozen=True)
class SchannelSettings:
    """``HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL`` values."""

    # 0 Machine Trust (default), 1 Exclusive Root Trust, 2 Exclusive CA Trust [confirmed]
    client_auth_trust_mode: Setting[int] = field(default_factory=lambda: Setting(0))
    # Default FALSE on Windows Server 2012 / Windows 8 and later [confirmed]
    send_trusted_issuer_list: Setting[bool] = field(default_factory=lambda: Setting(False))
    # 1 = errors only (default) [confirmed]
    event_logging: Setting[int] = field(default_factory=lambda: Setting(1))
    # Value names found that look like a misspelling of a real one, e.g. SendTrustedIssuers.
    misspelled: tuple[Setting[str], ...] = ()
    # Largest fragmented handshake message accepted with client auth (SCHANNEL\\Messaging),
    # default 0x8000 [confirmed]; long client chains can exceed it.
    message_limit_server_client_auth: Setting[int] = field(default_factory=lambda: Setting(0x8000))
    # SCHANNEL\\Protocols\\<protocol>\\<Client|Server> switches that were found.
    protocols: tuple[ProtocolSetting, ...] = ()
    # Other values under the key, kept as text so nothing read is lost ("name", "value").
    other_values: tuple[tuple[str, Setting[str]], ...] = ()
    # Things Schannel most likely ignores: wrong value type, undocumented value, value under
    # the wrong key. Each is a sentence; its source says where.
    problems: tuple[Setting[str], ...] = ()
    # The file the SCHANNEL key was read from; None when nobody exported it (all unknown).
    source: str | None = None

    def with_trust_mode(self, mode: int, source: str) -> SchannelSettings:
        """Set a mode already checked (``core.changes.SetTrustMode`` is the checked way in)."""
        return replace(self, client_auth_trust_mode=Setting(mode, source))

    def with_send_issuer_list(self, send: bool, source: str) -> SchannelSettings:
        return replace(self, send_trusted_issuer_list=Setting(send, source))

    def protocol(self, protocol: str, side: str) -> ProtocolSetting:
        """The switch for e.g. ("TLS 1.3", "Server"); unset values mean the OS default."""
        for item in self.protocols:
            if item.protocol.casefold() == protocol.casefold() and item.side == side.title():
                return item
        return ProtocolSetting(protocol, side.title())


@dataclass(frozen=True)
class ProtocolSetting:
    """``SCHANNEL\\Protocols\\<protocol>\\<side>``: Enabled / DisabledByDefault.

    ``None`` values were not set: the protocol's default for that Windows version applies.
    """

    protocol: str  # "TLS 1.2", "TLS 1.3", ...
    side: str  # "Client" or "Server"
    enabled: Setting[bool | None] = field(default_factory=lambda: Setting(None))
    disabled_by_default: Setting[bool | None] = field(default_factory=lambda: Setting(None))


@dataclass(frozen=True)
class SslBinding:
    """One HTTP.sys SSL binding (``netsh http show sslcert``), as far as trust is concerned."""

    endpoint: str = "0.0.0.0:443"
    kind: str = "ipport"  # ipport, hostnameport, ccs
    cert_hash: str | None = None
    app_id: str | None = None
    cert_store_name: str = "My"
    # DefaultCertCheckMode: 0 = revocation checked (default) [confirmed]
    cert_check_mode: Setting[int] = field(default_factory=lambda: Setting(0))
    revocation_freshness_time: int = 0
    url_retrieval_timeout: int = 0
    ctl_identifier: str | None = None
    ctl_store_name: Setting[str | None] = field(default_factory=lambda: Setting(None))
    # DefaultFlags: 0 = no DS mapper, certificate not negotiated in the initial handshake
    flags: Setting[int] = field(default_factory=lambda: Setting(0))
    source: str | None = None
    # Where each row came from: (label as netsh prints it or registry value name, "file:line").
    # ``cert_check_mode.source`` is the "Verify Client Certificate Revocation" row and
    # ``flags.source`` the "Negotiate Client Certificate" row; the others are here.
    field_sources: tuple[tuple[str, str], ...] = ()
    # Rows certgate does not map (Extended Properties, labels of newer builds), as read.
    extra: tuple[tuple[str, str], ...] = ()
    # What reported it: "netsh http show sslcert (2016+ field set)", "registry", ...
    reported_by: str | None = None

    def source_of(self, label: str) -> str | None:
        """Where the row ``label`` (case-insensitive) was read, else the binding's source."""
        wanted = label.casefold()
        for name, where in self.field_sources:
            if name.casefold() == wanted:
                return where
        return self.source

    @property
    def port(self) -> int | None:
        text = self.endpoint.rsplit(":", 1)[-1]
        return int(text) if text.isdigit() else None

    @property
    def host(self) -> str:
        """The IP or host name part ("" for a Central Certificate Store binding)."""
        return self.endpoint.rsplit(":", 1)[0] if ":" in self.endpoint else ""

    @property
    def check_mode_names(self) -> tuple[str, ...]:
        return bit_names(self.cert_check_mode.value, CERT_CHECK_NAMES)

    @property
    def flag_names(self) -> tuple[str, ...]:
        return bit_names(self.flags.value, DEFAULT_FLAG_NAMES)

    @property
    def uses_ds_mapper(self) -> bool:
        return bool(self.flags.value & FLAG_USE_DS_MAPPER)

    @property
    def disables_http2(self) -> bool:
        return bool(self.flags.value & FLAG_DISABLE_HTTP2)

    @property
    def disables_tls13(self) -> bool:
        return bool(self.flags.value & FLAG_DISABLE_TLS13)

    @property
    def checks_revocation(self) -> bool:
        return not self.cert_check_mode.value & CERT_CHECK_NO_REVOCATION

    @property
    def cached_revocation_only(self) -> bool:
        return bool(self.cert_check_mode.value & CERT_CHECK_CACHED_REVOCATION)

    @property
    def checks_usage(self) -> bool:
        return not self.cert_check_mode.value & CERT_CHECK_NO_USAGE_CHECK

    @property
    def negotiates_client_cert(self) -> bool:
        return bool(self.flags.value & FLAG_NEGOTIATE_CLIENT_CERT)
