"""Windows settings that decide client-certificate trust, each with where its value came from.

A value read from a file carries ``source`` ("schannel.reg:12"); a value nobody set carries
``source=None`` and is the Windows default, which reports must say they assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

__all__ = [
    "CERT_CHECK_CACHED_REVOCATION",
    "CERT_CHECK_NO_REVOCATION",
    "CERT_CHECK_NO_USAGE_CHECK",
    "FLAG_NEGOTIATE_CLIENT_CERT",
    "SchannelSettings",
    "Setting",
    "SslBinding",
]

T = TypeVar("T")

# HTTP_SERVICE_CONFIG_SSL_PARAM.DefaultCertCheckMode bits (windows-facts §4.2) [confirmed]
CERT_CHECK_NO_REVOCATION = 0x1
CERT_CHECK_CACHED_REVOCATION = 0x2
CERT_CHECK_REVOCATION_FRESHNESS = 0x4
CERT_CHECK_NO_USAGE_CHECK = 0x10000

# DefaultFlags bits [confirmed up to 0x4; later bits from Win32 metadata]
FLAG_USE_DS_MAPPER = 0x1
FLAG_NEGOTIATE_CLIENT_CERT = 0x2
FLAG_DISABLE_HTTP2 = 0x10
FLAG_DISABLE_TLS13 = 0x40


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

    def with_trust_mode(self, mode: int, source: str) -> SchannelSettings:
        if mode not in (0, 1, 2):
            raise ValueError(f"ClientAuthTrustMode must be 0, 1 or 2, not {mode}")
        return replace(self, client_auth_trust_mode=Setting(mode, source))

    def with_send_issuer_list(self, send: bool, source: str) -> SchannelSettings:
        return replace(self, send_trusted_issuer_list=Setting(send, source))


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
