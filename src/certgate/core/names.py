"""Distinguished names as users see them on Windows, and as path building compares them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["Attribute", "Name"]

# Short names as Windows prints them (CertNameToStr, X500 format), which is also what
# PowerShell's Subject/Issuer properties and IIS many-to-one mapping sub-fields use.
SHORT_NAMES: dict[str, str] = {
    "2.5.4.3": "CN",
    "2.5.4.4": "SN",
    "2.5.4.5": "SERIALNUMBER",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "S",
    "2.5.4.9": "STREET",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "T",
    "2.5.4.17": "PostalCode",
    "2.5.4.42": "G",
    "2.5.4.43": "I",
    "2.5.4.46": "dnQualifier",
    "2.5.4.97": "OrganizationIdentifier",
    "1.2.840.113549.1.9.1": "E",
    "0.9.2342.19200300.100.1.1": "UID",
    "0.9.2342.19200300.100.1.25": "DC",
}

_NEEDS_QUOTES = re.compile(r'[,+="\n<>#;]|^\s|\s$')
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Attribute:
    """One attribute of a relative distinguished name."""

    oid: str
    value: str

    @property
    def short(self) -> str:
        return SHORT_NAMES.get(self.oid, f"OID.{self.oid}")

    def windows(self) -> str:
        value = self.value
        if _NEEDS_QUOTES.search(value):
            value = '"' + value.replace('"', '""') + '"'
        return f"{self.short}={value}"


@dataclass(frozen=True, eq=False)
class Name:
    """A distinguished name: its exact DER, and its attributes in DER order (most general first).

    Two names are equal when their DER is equal or when they match under RFC 5280 §7.1
    comparison rules simplified to what real PKIs need (case folding, whitespace folding).
    """

    der: bytes
    rdns: tuple[tuple[Attribute, ...], ...]

    @classmethod
    def from_cryptography(cls, name: x509.Name) -> Name:
        rdns = tuple(
            tuple(Attribute(a.oid.dotted_string, _text(a.value)) for a in rdn) for rdn in name.rdns
        )
        return cls(name.public_bytes(), rdns)

    @classmethod
    def from_asn1crypto(cls, name: Any) -> Name:
        rdns = tuple(
            tuple(Attribute(str(atv["type"].dotted), _text(atv["value"].native)) for atv in rdn)
            for rdn in name.chosen
        )
        return cls(name.dump(), rdns)

    def __str__(self) -> str:
        """Windows order and quoting: ``CN=Issuing CA, O=Contoso, C=US``."""
        return ", ".join(" + ".join(a.windows() for a in rdn) for rdn in reversed(self.rdns))

    def __repr__(self) -> str:
        return f"Name({str(self)!r})"

    @cached_property
    def key(self) -> tuple[tuple[tuple[str, str], ...], ...]:
        return tuple(
            tuple(sorted((a.oid, _WHITESPACE.sub(" ", a.value.strip()).casefold()) for a in rdn))
            for rdn in self.rdns
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Name):
            return NotImplemented
        return self.der == other.der or self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def values(self, short: str) -> list[str]:
        """Every value of one attribute, by Windows short name (``CN``, ``OU``...)."""
        wanted = short.upper()
        return [a.value for rdn in self.rdns for a in rdn if a.short.upper() == wanted]

    @property
    def common_name(self) -> str | None:
        names = self.values("CN")
        return names[-1] if names else None

    @property
    def is_empty(self) -> bool:
        return not self.rdns


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return "#" + value.hex()
    return str(value)
