"""Identity mapping with IIS semantics (docs/windows-model.md#iis-cert-mapping), plus SAN rules.

Order: one-to-one (the exact certificate), then many-to-one (rules on Subject/Issuer
sub-fields, ``*`` wildcards, per-rule case sensitivity, Allow/Deny, first matching mapping
wins), then SAN rules (URI, SPIFFE ID, DNS, email, UPN; first match wins). Disabled mappings
are skipped, as IIS skips ``enabled="false"`` entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from cryptography import x509

from certgate.core.der import der_header
from certgate.core.model import Certificate

__all__ = [
    "CertField",
    "FieldRule",
    "ManyToOne",
    "MappingConfig",
    "MappingResult",
    "OneToOne",
    "Permission",
    "SanRule",
    "SanType",
    "map_identity",
    "san_values",
    "wildcard",
]

UPN_OID = "1.3.6.1.4.1.311.20.2.3"


class Permission(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class CertField(StrEnum):
    SUBJECT = "Subject"
    ISSUER = "Issuer"


class SanType(StrEnum):
    URI = "uri"
    SPIFFE = "spiffe"  # a URI SAN with the spiffe scheme
    DNS = "dns"
    EMAIL = "email"
    UPN = "upn"


@dataclass(frozen=True)
class FieldRule:
    """``<add certificateField= certificateSubField= matchCriteria= compareCaseSensitive=>``."""

    field: CertField
    subfield: str  # CN, OU, O, L, S, C, E, ... as Windows prints them
    match: str  # may contain * wildcards
    case_sensitive: bool = True  # IIS default

    def matches(self, cert: Certificate) -> bool:
        name = cert.subject if self.field is CertField.SUBJECT else cert.issuer
        pattern = wildcard(self.match, self.case_sensitive)
        return any(pattern.fullmatch(value) for value in name.values(self.subfield))


@dataclass(frozen=True)
class OneToOne:
    certificate: bytes  # the exact DER (IIS stores it as one-line base64)
    user: str
    enabled: bool = True


@dataclass(frozen=True)
class ManyToOne:
    name: str
    user: str
    rules: tuple[FieldRule, ...]
    permission: Permission = Permission.ALLOW
    enabled: bool = True


@dataclass(frozen=True)
class SanRule:
    name: str
    type: SanType
    match: str  # may contain * wildcards
    user: str | None = None  # None: the matching SAN value is the identity
    permission: Permission = Permission.ALLOW
    case_sensitive: bool = False  # DNS names and schemes are case-insensitive
    enabled: bool = True


@dataclass(frozen=True)
class MappingConfig:
    enabled: bool = False
    one_to_one_enabled: bool = True
    many_to_one_enabled: bool = True
    one_to_one: tuple[OneToOne, ...] = ()
    many_to_one: tuple[ManyToOne, ...] = ()
    san: tuple[SanRule, ...] = ()


@dataclass(frozen=True)
class MappingResult:
    """Who the certificate maps to. ``permission`` None: no mapping matched."""

    identity: str | None
    permission: Permission | None
    rule: str  # one-to-one, many-to-one:<name>, san:<name>, or "" when nothing matched
    reason: str

    @property
    def allowed(self) -> bool:
        return self.permission is Permission.ALLOW


NOT_MAPPED = MappingResult(None, None, "", "no mapping matched this certificate")


def map_identity(config: MappingConfig, cert: Certificate) -> MappingResult:
    if config.one_to_one_enabled:
        for entry in config.one_to_one:
            if entry.enabled and entry.certificate == cert.der:
                return MappingResult(
                    entry.user, Permission.ALLOW, "one-to-one", "one-to-one mapping"
                )
    if config.many_to_one_enabled:
        for mapping in config.many_to_one:
            if mapping.enabled and all(rule.matches(cert) for rule in mapping.rules):
                return MappingResult(
                    mapping.user if mapping.permission is Permission.ALLOW else None,
                    mapping.permission,
                    f"many-to-one:{mapping.name}",
                    f"many-to-one mapping {mapping.name!r} ({mapping.permission.value})",
                )
    values = san_values(cert)
    for rule in config.san:
        hit = _san_hit(rule, values) if rule.enabled else None
        if hit is not None:
            return MappingResult(
                (rule.user or hit) if rule.permission is Permission.ALLOW else None,
                rule.permission,
                f"san:{rule.name}",
                f"SAN rule {rule.name!r} matched {rule.type.value} {hit!r} "
                f"({rule.permission.value})",
            )
    return NOT_MAPPED


def _san_hit(rule: SanRule, values: dict[SanType, tuple[str, ...]]) -> str | None:
    pattern = wildcard(rule.match, rule.case_sensitive)
    for value in values.get(rule.type, ()):
        if pattern.fullmatch(value):
            return value
    return None


@lru_cache(maxsize=1024)
def wildcard(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    """IIS ``matchCriteria``: ``*`` matches any run of characters, everything else literally."""
    body = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.compile(body, 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def san_values(cert: Certificate) -> dict[SanType, tuple[str, ...]]:
    """The leaf's SAN entries by type; SPIFFE IDs are the ``spiffe://`` URIs."""
    parsed = cert.x509
    if parsed is None:
        return {}
    try:
        san = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return {}
    uris = tuple(str(v) for v in san.get_values_for_type(x509.UniformResourceIdentifier))
    upns = tuple(
        text
        for other in san.get_values_for_type(x509.OtherName)
        if other.type_id.dotted_string == UPN_OID
        for text in (_utf8_string(other.value),)
        if text is not None
    )
    return {
        SanType.URI: uris,
        SanType.SPIFFE: tuple(u for u in uris if u.lower().startswith("spiffe://")),
        SanType.DNS: tuple(san.get_values_for_type(x509.DNSName)),
        SanType.EMAIL: tuple(san.get_values_for_type(x509.RFC822Name)),
        SanType.UPN: upns,
    }


def _utf8_string(der: bytes) -> str | None:
    """The UPN otherName value: a DER UTF8String (tag 0x0C)."""
    header = der_header(der, 0)
    if header is None or header.tag != 0x0C or header.total != len(der):
        return None
    try:
        return der[header.header_length :].decode("utf-8")
    except UnicodeDecodeError:
        return None
