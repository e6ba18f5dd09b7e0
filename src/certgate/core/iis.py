"""IIS configuration as far as client certificates go: sites and their bindings, ``<location>``
access ``sslFlags``, anonymous authentication and the two certificate-mapping modules.

Paths are IIS configuration paths: ``""`` is the server level (applicationHost.config outside any
``<location>``), ``"Default Web Site"`` a site, ``"Default Web Site/app"`` below site level.
Every value read keeps its ``source`` ("applicationHost.config:120").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from enum import IntFlag, StrEnum

from certgate.core.settings import Setting

__all__ = [
    "AccessSslFlags",
    "Application",
    "BindingSslFlags",
    "EffectiveConfig",
    "IisCertificateMapping",
    "IisConfig",
    "Level",
    "LocationConfig",
    "ManyToOneMapping",
    "ManyToOneRule",
    "OneToOneMapping",
    "Site",
    "SiteBinding",
    "flag_text",
]


class AccessSslFlags(IntFlag):
    """``system.webServer/security/access@sslFlags`` (docs/windows-model.md#iis-access-sslflags)
    [confirmed]."""

    NONE = 0
    SSL = 0x8
    SSL_NEGOTIATE_CERT = 0x20
    SSL_REQUIRE_CERT = 0x40
    SSL_MAP_CERT = 0x80
    SSL128 = 0x100


ACCESS_FLAG_NAMES = {
    "none": AccessSslFlags.NONE,
    "ssl": AccessSslFlags.SSL,
    "sslnegotiatecert": AccessSslFlags.SSL_NEGOTIATE_CERT,
    "sslrequirecert": AccessSslFlags.SSL_REQUIRE_CERT,
    "sslmapcert": AccessSslFlags.SSL_MAP_CERT,
    "ssl128": AccessSslFlags.SSL128,
}
_ACCESS_DISPLAY = (
    (AccessSslFlags.SSL, "Ssl"),
    (AccessSslFlags.SSL_NEGOTIATE_CERT, "SslNegotiateCert"),
    (AccessSslFlags.SSL_REQUIRE_CERT, "SslRequireCert"),
    (AccessSslFlags.SSL_MAP_CERT, "SslMapCert"),
    (AccessSslFlags.SSL128, "Ssl128"),
)


class BindingSslFlags(IntFlag):
    """``sites/site/bindings/binding@sslFlags`` (IIS 8+; above 4 needs IIS 10 1809+) [confirmed]."""

    NONE = 0
    SNI = 1
    CENTRAL_CERT_STORE = 2
    DISABLE_HTTP2 = 4
    DISABLE_OCSP_STAPLING = 8
    DISABLE_QUIC = 16
    DISABLE_TLS13_OVER_TCP = 32
    DISABLE_LEGACY_TLS = 64


def flag_text(value: int) -> str:
    """Access sslFlags as IIS writes them: ``Ssl, SslNegotiateCert`` (``None`` for 0)."""
    names = [name for bit, name in _ACCESS_DISPLAY if value & bit]
    return ", ".join(names) if names else "None"


class Level(StrEnum):
    SERVER = "server"
    SITE = "site"
    BELOW_SITE = "below-site"


@dataclass(frozen=True)
class SiteBinding:
    protocol: str  # "https", "http", "net.tcp", ...
    binding_information: str  # "*:443:www.contoso.com" (ip:port:host)
    ssl_flags: Setting[int] = field(default_factory=lambda: Setting(0))
    source: str = ""

    @property
    def ip(self) -> str:
        return self.binding_information.split(":")[0] if ":" in self.binding_information else ""

    @property
    def port(self) -> int | None:
        parts = self.binding_information.split(":")
        return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None

    @property
    def host(self) -> str:
        parts = self.binding_information.split(":")
        return parts[2] if len(parts) >= 3 else ""


@dataclass(frozen=True)
class Application:
    path: str  # "/" or "/app"
    physical_path: str | None = None  # of its root virtual directory, as written
    source: str = ""


@dataclass(frozen=True)
class Site:
    name: str
    id: str | None
    bindings: tuple[SiteBinding, ...] = ()
    applications: tuple[Application, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class OneToOneMapping:
    """``<oneToOneMappings><add certificate=...>``: matches only that exact certificate."""

    certificate: str  # base64 DER as written (one line, no armor)
    user_name: str
    enabled: bool = True
    has_password: bool = False  # passwords are never kept
    source: str = ""

    @property
    def sha1(self) -> str | None:
        """Thumbprint of the mapped certificate; None when the attribute is not base64 DER."""
        try:
            der = base64.b64decode("".join(self.certificate.split()), validate=True)
        except (binascii.Error, ValueError):
            return None
        return hashlib.sha1(der).hexdigest().upper() if der else None


@dataclass(frozen=True)
class ManyToOneRule:
    certificate_field: str  # Subject or Issuer
    certificate_sub_field: str  # CN, OU, O, ...
    match_criteria: str
    compare_case_sensitive: bool = True  # the documented default [confirmed]
    source: str = ""


@dataclass(frozen=True)
class ManyToOneMapping:
    name: str
    user_name: str
    enabled: bool = True
    permission_mode: str = "Allow"  # Allow or Deny
    description: str = ""
    rules: tuple[ManyToOneRule, ...] = ()
    has_password: bool = False
    source: str = ""


@dataclass(frozen=True)
class IisCertificateMapping:
    """``iisClientCertificateMappingAuthentication`` at one path (defaults per IISD) [confirmed]."""

    enabled: Setting[bool] = field(default_factory=lambda: Setting(False))
    one_to_one_enabled: Setting[bool] = field(default_factory=lambda: Setting(True))
    many_to_one_enabled: Setting[bool] = field(default_factory=lambda: Setting(True))
    logon_method: Setting[str] = field(default_factory=lambda: Setting("ClearText"))
    default_logon_domain: str | None = None
    one_to_one: tuple[OneToOneMapping, ...] = ()
    many_to_one: tuple[ManyToOneMapping, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class LocationConfig:
    """The client-certificate sections set at one configuration path, by one file."""

    path: str
    file: str  # the configuration file ("applicationHost.config", "iis/sites/A/web.config")
    source: str  # where the <location> (or top-level <system.webServer>) starts
    access_ssl_flags: Setting[int] | None = None
    anonymous_enabled: Setting[bool] | None = None
    iis_mapping: IisCertificateMapping | None = None
    ad_mapping_enabled: Setting[bool] | None = None  # clientCertificateMappingAuthentication
    override_mode: str | None = None  # <location overrideMode="Allow|Deny">


@dataclass(frozen=True)
class EffectiveConfig:
    """What applies to one request path once inheritance is resolved (most specific wins)."""

    path: str
    access_ssl_flags: Setting[int]
    anonymous_enabled: Setting[bool | None]
    iis_mapping: IisCertificateMapping | None
    iis_mapping_path: str | None  # where the applying mapping section was set
    ad_mapping_enabled: Setting[bool]

    @property
    def negotiates_cert(self) -> bool:
        return bool(self.access_ssl_flags.value & AccessSslFlags.SSL_NEGOTIATE_CERT)

    @property
    def requires_cert(self) -> bool:
        return bool(self.access_ssl_flags.value & AccessSslFlags.SSL_REQUIRE_CERT)


@dataclass(frozen=True)
class IisConfig:
    sites: tuple[Site, ...] = ()
    locations: tuple[LocationConfig, ...] = ()
    files: tuple[str, ...] = ()
    # (section path, overrideModeDefault, source) from <configSections>: "Deny" means a
    # web.config that sets it gets 500.19 [confirmed defaults: access and both mapping sections]
    section_override_defaults: tuple[tuple[str, str, str], ...] = ()

    def site(self, name: str) -> Site | None:
        wanted = name.casefold()
        return next((s for s in self.sites if s.name.casefold() == wanted), None)

    def level(self, path: str) -> Level:
        parts = _segments(path)
        if not parts:
            return Level.SERVER
        return Level.SITE if len(parts) == 1 else Level.BELOW_SITE

    def applying(self, path: str) -> list[LocationConfig]:
        """Locations whose path covers ``path``, least specific first (file order kept)."""
        wanted = _segments(path)
        covering = [loc for loc in self.locations if _covers(_segments(loc.path), wanted)]
        return sorted(covering, key=lambda loc: len(_segments(loc.path)))

    def effective(self, path: str) -> EffectiveConfig:
        flags: Setting[int] = Setting(0)
        anonymous: Setting[bool | None] = Setting(None)
        mapping: IisCertificateMapping | None = None
        mapping_path: str | None = None
        ad: Setting[bool] = Setting(False)
        for loc in self.applying(path):
            if loc.access_ssl_flags is not None:
                flags = loc.access_ssl_flags
            if loc.anonymous_enabled is not None:
                anonymous = Setting(loc.anonymous_enabled.value, loc.anonymous_enabled.source)
            if loc.iis_mapping is not None:
                mapping, mapping_path = loc.iis_mapping, loc.path
            if loc.ad_mapping_enabled is not None:
                ad = loc.ad_mapping_enabled
        return EffectiveConfig(path, flags, anonymous, mapping, mapping_path, ad)

    def mappings_below_site(self) -> list[LocationConfig]:
        """Mapping sections set below site level: IIS ignores them (401.2) [secondary]."""
        return [
            loc
            for loc in self.locations
            if loc.iis_mapping is not None and self.level(loc.path) is Level.BELOW_SITE
        ]

    def override_default(self, section: str) -> str | None:
        wanted = section.casefold()
        return next(
            (m for s, m, _ in self.section_override_defaults if s.casefold() == wanted), None
        )


def _segments(path: str) -> tuple[str, ...]:
    return tuple(p.casefold() for p in path.replace("\\", "/").split("/") if p and p != ".")


def _covers(location: tuple[str, ...], request: tuple[str, ...]) -> bool:
    return request[: len(location)] == location
