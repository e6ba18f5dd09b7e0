"""The certificate as certgate sees it: exact bytes, the facts rules need, where it came from.

A ``Certificate`` is built from DER. ``cryptography`` parses it; when it refuses (malformed
but real certificates exist in real stores), ``asn1crypto`` reads the fields leniently and the
certificate is still audited, with ``parse_issues`` saying what was wrong.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509 import ExtensionType, ObjectIdentifier
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

from certgate.core import _asn1
from certgate.core._cache import cached
from certgate.core.der import suspicious_name, tbs_names, tbs_slice
from certgate.core.names import Name
from certgate.core.signatures import (
    SignatureAlgorithm,
    SignatureCheck,
    SignatureStatus,
    verify_signature,
)

__all__ = ["KEY_USAGE_NAMES", "BasicConstraints", "Certificate", "KeyInfo", "SelfSigned"]


class SelfSigned(StrEnum):
    """Whether a certificate is self-signed, decided by its signature and not by names alone."""

    YES = "yes"  # subject == issuer and its own key verifies its signature
    NAMES_ONLY = "names-only"  # names itself as issuer, but its own key does not verify it
    NO = "no"  # issued by someone else
    UNKNOWN = "unknown"  # names match, but the signature could not be checked


def _plain_warning(message: str, parsed: x509.Certificate | None) -> str:
    """What a ``cryptography`` deprecation warning means for the user, not its wording
    ("will cause an exception in a future release" says nothing about the certificate)."""
    if "serial number" in message.lower() and "positive" in message.lower():
        serial = "zero or negative"
        with warnings.catch_warnings():  # reading the serial warns again
            warnings.simplefilter("ignore")
            if parsed is not None:
                serial = str(parsed.serial_number)
        return (
            f"serial number {serial}, which RFC 5280 forbids (serials are positive); "
            "Windows and OpenSSL accept it, so it is audited as it is"
        )
    if "NULL parameter" in message:
        return (
            "signature algorithm with a NULL parameter where none is allowed (an encoding "
            "error RFC 5758 forbids); Windows and OpenSSL accept it"
        )
    for marker in (" Loading this certificate will", " This is invalid and will be rejected"):
        message = message.split(marker, 1)[0]
    return message.rstrip(". ") + " (accepted today; a later cryptography release will refuse it)"


@dataclass(frozen=True)
class BasicConstraints:
    ca: bool
    path_length: int | None


@dataclass(frozen=True)
class KeyInfo:
    algorithm: str  # RSA, EC, Ed25519, Ed448, DSA, unknown
    size: int  # bits
    curve: str | None = None

    def __str__(self) -> str:
        if self.curve:
            return f"{self.algorithm} {self.curve}"
        if self.algorithm in {"Ed25519", "Ed448"}:
            return self.algorithm
        return f"{self.algorithm} {self.size}"


# KeyUsage bits as cryptography names them; the last two only mean something with key_agreement.
KEY_USAGE_NAMES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


@dataclass(frozen=True, eq=False)
class Certificate:
    """One X.509 certificate. Equal to another exactly when the DER bytes are equal."""

    der: bytes
    source: str = ""
    friendly_name: str | None = None
    _parsed: x509.Certificate | None = field(default=None, repr=False)
    _lenient: _asn1.LenientCertificate | None = field(default=None, repr=False)
    parse_issues: tuple[str, ...] = ()

    @classmethod
    def from_der(
        cls, der: bytes, *, source: str = "", friendly_name: str | None = None
    ) -> Certificate:
        """Parse DER. Raises ``ValueError`` only when neither parser can read it.

        What ``cryptography`` objects to (negative serials, over-long names, unreadable
        extensions) is collected here into ``parse_issues`` rather than printed later.
        """
        der = bytes(der)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                parsed: x509.Certificate | None = x509.load_der_x509_certificate(der)
            except Exception as exc:  # ValueError, InvalidVersion, ...: all mean "refused"
                parsed, refusal = None, str(exc)
            primed, issues = _prime(parsed, der) if parsed is not None else ({}, [])
        issues[:0] = dict.fromkeys(_plain_warning(str(w.message), parsed) for w in caught)
        lenient = None
        if parsed is None:
            lenient = _asn1.LenientCertificate(der)
            issues.insert(0, f"cryptography refused it ({refusal}); read leniently")
        cert = cls(der, source, friendly_name, parsed, lenient, tuple(issues))
        cert.__dict__.update(primed)  # values read while warnings were being caught
        return cert

    @classmethod
    def from_cryptography(
        cls, cert: x509.Certificate, *, source: str = "", friendly_name: str | None = None
    ) -> Certificate:
        return cls.from_der(
            cert.public_bytes(serialization.Encoding.DER),
            source=source,
            friendly_name=friendly_name,
        )

    def with_origin(self, *, source: str, friendly_name: str | None = None) -> Certificate:
        return replace(self, source=source, friendly_name=friendly_name or self.friendly_name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Certificate):
            return NotImplemented
        return self.der == other.der

    def __hash__(self) -> int:
        return hash(self.der)

    def __repr__(self) -> str:
        return f"<Certificate {self.subject} sha1={self.sha1}>"

    # -- identity ---------------------------------------------------------------------------

    @property
    def x509(self) -> x509.Certificate | None:
        """The ``cryptography`` object, or None when only the lenient reader could parse it."""
        return self._parsed

    @cached
    def sha1(self) -> str:
        """Thumbprint as Windows shows it: upper-case hex, no separators."""
        return hashlib.sha1(self.der).hexdigest().upper()

    @cached
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    @cached
    def spki_sha256(self) -> str:
        """SHA-256 of the SubjectPublicKeyInfo: the pin format of HPKP, Envoy and curl."""
        return hashlib.sha256(self.spki_der).hexdigest()

    @property
    def label(self) -> str:
        """Short human label: the CN (or whole subject) and the first thumbprint digits."""
        return f"{self.subject.common_name or self.subject or '(empty subject)'} [{self.sha1[:8]}]"

    # -- names and dates --------------------------------------------------------------------

    @cached
    def subject(self) -> Name:
        if self._parsed is not None:  # normally primed by from_der
            return Name.from_cryptography(self._parsed.subject)
        return self._fallback.subject

    @cached
    def issuer(self) -> Name:
        if self._parsed is not None:  # normally primed by from_der
            return Name.from_cryptography(self._parsed.issuer)
        return self._fallback.issuer

    @cached
    def serial(self) -> int:
        return self._parsed.serial_number if self._parsed is not None else self._fallback.serial

    @property
    def serial_hex(self) -> str:
        value = self.serial
        sign = "-" if value < 0 else ""
        digits = f"{abs(value):X}"
        return sign + ("0" + digits if len(digits) % 2 else digits)

    @cached
    def not_before(self) -> datetime:
        if self._parsed is not None:
            return self._parsed.not_valid_before_utc
        return self._fallback.not_before

    @cached
    def not_after(self) -> datetime:
        if self._parsed is not None:
            return self._parsed.not_valid_after_utc
        return self._fallback.not_after

    def valid_at(self, when: datetime) -> bool:
        return self.not_before <= when <= self.not_after

    # -- keys and signatures ----------------------------------------------------------------

    @cached
    def spki_der(self) -> bytes:
        key = self.public_key()
        if key is not None:
            return key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        try:
            return _asn1.LenientCertificate(self.der).spki_der
        except ValueError:
            return b""

    def public_key(self) -> CertificatePublicKeyTypes | None:
        """The subject public key, or None when it uses an algorithm we cannot load."""
        return self._public_key

    @cached
    def _public_key(self) -> CertificatePublicKeyTypes | None:
        try:
            if self._parsed is not None:
                return self._parsed.public_key()
            key = serialization.load_der_public_key(self._fallback.spki_der)
        except Exception:  # unknown or malformed key algorithm: unusable, not fatal
            return None
        return key  # type: ignore[return-value]

    @cached
    def key_info(self) -> KeyInfo:
        key = self.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            return KeyInfo("RSA", key.key_size)
        if isinstance(key, ec.EllipticCurvePublicKey):
            return KeyInfo("EC", key.key_size, key.curve.name)
        if isinstance(key, ed25519.Ed25519PublicKey):
            return KeyInfo("Ed25519", 256)
        if isinstance(key, ed448.Ed448PublicKey):
            return KeyInfo("Ed448", 456)
        if isinstance(key, dsa.DSAPublicKey):
            return KeyInfo("DSA", key.key_size)
        return KeyInfo("unknown", 0)

    @cached
    def signature_algorithm(self) -> SignatureAlgorithm:
        if self._parsed is None:
            return self._fallback.signature_algorithm
        oid = self._parsed.signature_algorithm_oid.dotted_string
        if oid == "1.2.840.113549.1.1.10":
            return _asn1.pss_algorithm(self.der)
        return _asn1.signature_algorithm(oid)

    @property
    def signature(self) -> bytes:
        return self._parsed.signature if self._parsed is not None else self._fallback.signature

    @cached
    def tbs_der(self) -> bytes:
        if self._parsed is not None:
            return self._parsed.tbs_certificate_bytes
        return self._fallback.tbs_der

    def signed_by(self, issuer: Certificate) -> SignatureCheck:
        """Does ``issuer``'s key verify this certificate's signature? (Names are not compared.)"""
        return verify_signature(
            issuer.public_key(), self.signature, self.tbs_der, self.signature_algorithm
        )

    @cached
    def self_issued(self) -> bool:
        return self.subject == self.issuer

    @cached
    def self_signed(self) -> SelfSigned:
        if not self.self_issued:
            return SelfSigned.NO
        check = self.signed_by(self)
        if check.status is SignatureStatus.VALID:
            return SelfSigned.YES
        if check.status is SignatureStatus.INVALID:
            return SelfSigned.NAMES_ONLY
        return SelfSigned.UNKNOWN

    # -- extensions -------------------------------------------------------------------------

    @cached
    def extensions(self) -> tuple[tuple[str, bool], ...]:
        """(OID, critical) of every extension, in order."""
        if self._parsed is None:
            return self._fallback.extensions
        try:
            return tuple((e.oid.dotted_string, e.critical) for e in self._parsed.extensions)
        except Exception:  # ValueError, TypeError, DuplicateExtension...: unreadable
            pass
        try:
            return _asn1.LenientCertificate(self.der).extensions
        except ValueError:  # neither parser reads them: parse_issues says so
            return ()

    def _extension(self, oid: ObjectIdentifier) -> ExtensionType | None:
        assert self._parsed is not None
        try:
            return self._parsed.extensions.get_extension_for_oid(oid).value
        except x509.ExtensionNotFound:
            return None

    @cached
    def basic_constraints(self) -> BasicConstraints | None:
        if self._parsed is None:
            raw = self._fallback.basic_constraints
            return None if raw is None else BasicConstraints(*raw)
        value = self._safe_extension(ExtensionOID.BASIC_CONSTRAINTS)
        if not isinstance(value, x509.BasicConstraints):
            return None
        return BasicConstraints(value.ca, value.path_length)

    @property
    def is_ca(self) -> bool:
        constraints = self.basic_constraints
        return constraints is not None and constraints.ca

    @cached
    def key_usage(self) -> frozenset[str] | None:
        """Names as ``cryptography`` spells them (``key_cert_sign``...), or None if absent."""
        if self._parsed is None:
            return self._fallback.key_usage
        value = self._safe_extension(ExtensionOID.KEY_USAGE)
        if not isinstance(value, x509.KeyUsage):
            return None
        names = {n for n in KEY_USAGE_NAMES[:7] if getattr(value, n)}
        if value.key_agreement:
            names |= {n for n in ("encipher_only", "decipher_only") if getattr(value, n)}
        return frozenset(names)

    @cached
    def extended_key_usage(self) -> tuple[str, ...] | None:
        """Dotted OIDs of the EKU extension, or None if absent (absent means any purpose)."""
        if self._parsed is None:
            return self._fallback.eku
        value = self._safe_extension(ExtensionOID.EXTENDED_KEY_USAGE)
        if not isinstance(value, x509.ExtendedKeyUsage):
            return None
        return tuple(oid.dotted_string for oid in value)

    @cached
    def subject_key_identifier(self) -> bytes | None:
        if self._parsed is None:
            return self._fallback.ski
        value = self._safe_extension(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
        return value.digest if isinstance(value, x509.SubjectKeyIdentifier) else None

    @cached
    def authority_key_identifier(self) -> bytes | None:
        if self._parsed is None:
            return self._fallback.aki
        value = self._safe_extension(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
        return value.key_identifier if isinstance(value, x509.AuthorityKeyIdentifier) else None

    @cached
    def ca_issuers_urls(self) -> tuple[str, ...]:
        """Authority Information Access caIssuers URIs: where Windows fetches a missing issuer."""
        if self._parsed is None:
            return ()
        value = self._safe_extension(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
        if not isinstance(value, x509.AuthorityInformationAccess):
            return ()
        return tuple(
            str(d.access_location.value)
            for d in value
            if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
            and isinstance(d.access_location, x509.UniformResourceIdentifier)
        )

    def _safe_extension(self, oid: ObjectIdentifier) -> ExtensionType | None:
        try:
            return self._extension(oid)
        except Exception:  # malformed or duplicated: treat as absent, said in parse_issues
            return None

    @property
    def _fallback(self) -> _asn1.LenientCertificate:
        if self._lenient is None:  # pragma: no cover - construction guarantees one parser
            raise RuntimeError("certificate has no parsed form")
        return self._lenient


def _prime(parsed: x509.Certificate, der: bytes) -> tuple[dict[str, object], list[str]]:
    """Read names, serial, TBS and extensions now, while the caller catches warnings.

    Names are sliced from the TBS bytes; ``cryptography``'s Python ``Name`` objects (the
    expensive part) are only built when a quick scan says they may warn, or later on demand.
    """
    # The signed bytes as they are in the file: no re-encoding (cheaper, and what Windows checks)
    tbs = tbs_slice(der) or parsed.tbs_certificate_bytes
    primed: dict[str, object] = {"tbs_der": tbs, "serial": parsed.serial_number}
    issues: list[str] = []
    names = tbs_names(tbs)
    if names is not None and names[0] == names[1] and not suspicious_name(names[1]):
        # Self-issued (nearly every root): one name, decoded at most once for both roles.
        primed["issuer"] = primed["subject"] = Name(names[1], _deferred(parsed, "subject"))
    elif names is not None and not any(suspicious_name(n) for n in names):
        primed["issuer"] = Name(names[0], _deferred(parsed, "issuer"))
        primed["subject"] = Name(names[1], _deferred(parsed, "subject"))
    else:  # decode now, so that any objection is recorded while loading
        for role in ("issuer", "subject"):
            try:
                primed[role] = Name.from_cryptography(getattr(parsed, role))
            except Exception as exc:
                der = names[role == "subject"] if names else b""
                primed[role] = name = Name(der, _deferred(parsed, role))
                issues.append(f"{role} name: {name.problem or exc}")
    try:
        parsed.extensions  # noqa: B018 - parse now to surface errors
    except Exception as exc:  # ValueError, TypeError (an iPAddress constraint without its
        # mask), DuplicateExtension, UnsupportedGeneralNameType: all mean "unreadable"
        issues.append(f"extensions unreadable, treated as absent: {exc}")
    return primed, issues


def _deferred(parsed: x509.Certificate, attribute: str) -> Callable[[], x509.Name]:
    """Build ``cryptography``'s Name on first use; if it cannot, ``Name`` says why."""

    def load() -> x509.Name:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # already vetted by suspicious_name
            name: x509.Name = getattr(parsed, attribute)
            return name

    return load
