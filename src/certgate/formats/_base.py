"""What every loader returns, and the DER sniffing that picks a loader by content."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography import x509

from certgate.core.der import DerHeader, der_header
from certgate.core.model import Certificate
from certgate.errors import InputError

__all__ = [
    "DerHeader",
    "Item",
    "LoadWarning",
    "Loaded",
    "collect",
    "der_header",
    "make_certificate",
    "os_reason",
]


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


# What a streaming reader yields, in file order: a certificate, a CRL, or a warning.
Item = Certificate | x509.CertificateRevocationList | LoadWarning


def collect(items: Iterable[Item], formats: tuple[tuple[str, str], ...] = ()) -> Loaded:
    """Everything a streaming reader yields, gathered into one ``Loaded``."""
    certs: list[Certificate] = []
    crls: list[x509.CertificateRevocationList] = []
    warnings: list[LoadWarning] = []
    for item in items:
        if isinstance(item, Certificate):
            certs.append(item)
        elif isinstance(item, LoadWarning):
            warnings.append(item)
        else:
            crls.append(item)
    return Loaded(tuple(certs), tuple(crls), tuple(warnings), formats)


def make_certificate(
    der: bytes, path: str, where: str, friendly_name: str | None = None
) -> tuple[Certificate, list[LoadWarning]]:
    """Build a certificate; turn parser refusal into an ``InputError`` naming file and place."""
    source = f"{path}#{where}" if where else path
    try:
        cert = Certificate.from_der(der, source=source, friendly_name=friendly_name)
    except ValueError as exc:
        raise InputError(path, f"not a valid certificate: {exc}", where or None) from exc
    if not cert.parse_issues:
        return cert, []
    return cert, [LoadWarning(path, issue, where or None) for issue in cert.parse_issues]


def os_reason(exc: OSError) -> str:
    """An ``OSError`` as the end of a one-line message ("no such file or directory")."""
    reason = exc.strerror or str(exc)
    return reason[0].lower() + reason[1:] if reason else "cannot be read"
