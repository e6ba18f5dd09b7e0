"""What every loader returns, and the DER sniffing that picks a loader by content."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

from certgate.core.model import Certificate
from certgate.errors import InputError

__all__ = ["DerHeader", "LoadWarning", "Loaded", "der_header", "make_certificate"]


@dataclass(frozen=True)
class LoadWarning:
    """Something wrong in an input that did not stop it from being read."""

    path: str
    message: str
    where: str | None = None

    def __str__(self) -> str:
        location = f" (at {self.where})" if self.where else ""
        return f"{self.path}: {self.message}{location}"


@dataclass(frozen=True)
class Loaded:
    """Certificates (and CRLs) read from one or more inputs, with the warnings met on the way."""

    certificates: tuple[Certificate, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    warnings: tuple[LoadWarning, ...] = ()
    formats: tuple[tuple[str, str], ...] = field(default=())  # (path, format name)

    def __add__(self, other: Loaded) -> Loaded:
        return Loaded(
            self.certificates + other.certificates,
            self.crls + other.crls,
            self.warnings + other.warnings,
            self.formats + other.formats,
        )


@dataclass(frozen=True)
class DerHeader:
    tag: int
    header_length: int
    content_length: int

    @property
    def total(self) -> int:
        return self.header_length + self.content_length


def der_header(data: bytes | memoryview, offset: int = 0) -> DerHeader | None:
    """Read one DER tag and definite length at ``offset``; None if it is not DER-shaped."""
    if len(data) < offset + 2:
        return None
    tag = data[offset]
    first = data[offset + 1]
    if first < 0x80:
        return DerHeader(tag, 2, first)
    count = first & 0x7F
    if count == 0 or count > 4 or len(data) < offset + 2 + count:
        return None  # indefinite (BER) or absurd lengths are not what exporters write
    length = int.from_bytes(data[offset + 2 : offset + 2 + count], "big")
    return DerHeader(tag, 2 + count, length)


def make_certificate(
    der: bytes, path: str, where: str, friendly_name: str | None = None
) -> tuple[Certificate, list[LoadWarning]]:
    """Build a certificate; turn parser refusal into an ``InputError`` naming file and place."""
    source = f"{path}#{where}" if where else path
    try:
        cert = Certificate.from_der(der, source=source, friendly_name=friendly_name)
    except ValueError as exc:
        raise InputError(path, f"not a valid certificate: {exc}", where or None) from exc
    warnings = [LoadWarning(path, issue, where or None) for issue in cert.parse_issues]
    return cert, warnings
