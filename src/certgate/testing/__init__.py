"""Test PKIs in a few lines: roots, intermediates, cross-signed CAs, client and server leaves.

In the spirit of ``trustme``, but for client-certificate work: choose EKUs, key usages,
validity windows, path lengths, name constraints, key types, SHA-1/MD5 signatures, negative
serials and CRLs. Keys are pooled (and cached on disk) so whole test suites stay fast::

    from certgate.testing import PKI

    pki = PKI()
    root = pki.root("Contoso Root CA")
    issuing = root.intermediate("Contoso Issuing CA", path_length=0)
    alice = issuing.client("alice")
    alice.write_pem("alice.pem", chain=True)

Everything here is for tests: the keys are not secret and are reused across runs.
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509 import CertificateRevocationList
from cryptography.x509 import Name as X509Name
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certgate.core.model import KEY_USAGE_NAMES, Certificate
from certgate.formats.sst import dump_sst

__all__ = [
    "ANY_EKU",
    "CLIENT_AUTH",
    "PKI",
    "SERVER_AUTH",
    "Issued",
    "KeyType",
    "NameConstraints",
    "pem_bundle",
    "pkcs7_bundle",
    "sst_bundle",
    "tampered",
]

CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH.dotted_string
ANY_EKU = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE.dotted_string

PrivateKey = CertificateIssuerPrivateKeyTypes


class KeyType(StrEnum):
    RSA2048 = "rsa2048"
    RSA4096 = "rsa4096"
    P256 = "p256"
    P384 = "p384"
    ED25519 = "ed25519"


class _KeyPool:
    """Generated keys, reused by index; persisted under ``CERTGATE_TEST_KEYS`` (or ~/.cache)."""

    def __init__(self) -> None:
        self._keys: dict[KeyType, list[PrivateKey]] = {}
        self._lock = threading.Lock()
        configured = os.environ.get("CERTGATE_TEST_KEYS")
        self._dir = (
            Path(configured) if configured else Path.home() / ".cache" / "certgate" / "test-keys"
        )

    def get(self, kind: KeyType, index: int) -> PrivateKey:
        with self._lock:
            keys = self._keys.setdefault(kind, [])
            while len(keys) <= index:
                keys.append(self._load_or_make(kind, len(keys)))
            return keys[index]

    def _load_or_make(self, kind: KeyType, index: int) -> PrivateKey:
        path = self._dir / f"{kind.value}-{index:04d}.pem"
        try:
            return _issuer_key(serialization.load_pem_private_key(path.read_bytes(), None))
        except (OSError, ValueError, TypeError):
            pass
        key = _generate(kind)
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            tmp.replace(path)
        except OSError:
            return key  # a read-only home only costs speed
        return key


def _issuer_key(key: object) -> PrivateKey:
    if not isinstance(
        key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)
    ):
        raise TypeError(f"unexpected cached key type {type(key).__name__}")
    return key


def _generate(kind: KeyType) -> PrivateKey:
    if kind is KeyType.RSA2048:
        return rsa.generate_private_key(65537, 2048)
    if kind is KeyType.RSA4096:
        return rsa.generate_private_key(65537, 4096)
    if kind is KeyType.P256:
        return ec.generate_private_key(ec.SECP256R1())
    if kind is KeyType.P384:
        return ec.generate_private_key(ec.SECP384R1())
    return ed25519.Ed25519PrivateKey.generate()


_POOL = _KeyPool()

ModernHash = hashes.SHA256 | hashes.SHA384 | hashes.SHA512
_HASHES: dict[str, ModernHash] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
_LEGACY_OIDS = {
    ("rsa", "sha1"): "sha1_rsa",
    ("rsa", "md5"): "md5_rsa",
    ("ec", "sha1"): "sha1_ecdsa",
}


@dataclass(frozen=True)
class NameConstraints:
    permitted_dns: Sequence[str] = ()
    excluded_dns: Sequence[str] = ()
    permitted_email: Sequence[str] = ()
    excluded_email: Sequence[str] = ()

    def extension(self) -> x509.NameConstraints:
        def names(dns: Sequence[str], email: Sequence[str]) -> list[x509.GeneralName] | None:
            out: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
            out += [x509.RFC822Name(e) for e in email]
            return out or None

        return x509.NameConstraints(
            permitted_subtrees=names(self.permitted_dns, self.permitted_email),
            excluded_subtrees=names(self.excluded_dns, self.excluded_email),
        )


@dataclass
class PKI:
    """A factory for one test PKI. ``now`` anchors every default validity window."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    _next_key: dict[KeyType, int] = field(default_factory=dict)
    _serial: int = 0x1000

    def key(self, kind: KeyType = KeyType.RSA2048) -> PrivateKey:
        """A key not yet used in this PKI (keys are shared across PKIs, never within one)."""
        index = self._next_key.get(kind, 0)
        self._next_key[kind] = index + 1
        return _POOL.get(kind, index)

    def next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def root(self, name: str | x509.Name = "certgate Test Root CA", **options: Any) -> Issued:
        """A self-signed root CA."""
        options.setdefault("ca", True)
        options.setdefault("days", 3650)
        return self.issue(name, issuer=None, **options)

    def issue(
        self,
        name: str | x509.Name,
        *,
        issuer: Issued | None,
        ca: bool = False,
        key: KeyType | PrivateKey = KeyType.RSA2048,
        path_length: int | None = None,
        eku: Sequence[str] | None = None,
        key_usage: Iterable[str] | None = None,
        san: Sequence[str] = (),
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        days: int = 365,
        expired: bool = False,
        hash: str = "sha256",
        serial: int | None = None,
        name_constraints: NameConstraints | None = None,
        crl_urls: Sequence[str] = (),
        extra_extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
        subject_key_id: bool = True,
        issuer_name: x509.Name | None = None,
    ) -> Issued:
        """Issue one certificate. ``issuer=None`` makes it self-signed.

        ``san`` entries are ``dns:``, ``email:``, ``uri:``, ``ip:`` or ``upn:`` prefixed, or a
        bare DNS name. ``hash`` may be ``sha1`` or ``md5`` for legacy fixtures. A negative
        ``serial`` is allowed (real stores hold such certificates).
        """
        subject = _name(name)
        private_key = self.key(key) if isinstance(key, KeyType) else key
        signer_key = issuer.key if issuer else private_key
        if expired:
            not_before = not_before or self.now - timedelta(days=days + 30)
            not_after = not_after or self.now - timedelta(days=30)
        not_before = not_before or self.now - timedelta(days=1)
        not_after = not_after or not_before + timedelta(days=days)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name or (issuer.x509.subject if issuer else subject))
            .public_key(private_key.public_key())
            .serial_number(abs(serial) if serial else self.next_serial())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
        )
        extensions = self._extensions(
            ca, private_key, issuer, path_length, eku, key_usage, san, name_constraints, crl_urls
        )
        for ext, critical in extensions:
            if subject_key_id or not isinstance(ext, x509.SubjectKeyIdentifier):
                builder = builder.add_extension(ext, critical)
        for ext, critical in extra_extensions:
            builder = builder.add_extension(ext, critical)
        cert = builder.sign(signer_key, _modern_hash(signer_key, hash))
        if hash in ("sha1", "md5") or (serial is not None and serial <= 0):
            cert = _resign(cert, signer_key, hash, serial)
        return Issued(self, cert, private_key, issuer)

    def _extensions(
        self,
        ca: bool,
        key: PrivateKey,
        issuer: Issued | None,
        path_length: int | None,
        eku: Sequence[str] | None,
        key_usage: Iterable[str] | None,
        san: Sequence[str],
        name_constraints: NameConstraints | None,
        crl_urls: Sequence[str],
    ) -> list[tuple[x509.ExtensionType, bool]]:
        exts: list[tuple[x509.ExtensionType, bool]] = [
            (x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), True),
            (_key_usage(key_usage, ca, key), True),
            (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
        ]
        if issuer is not None:
            exts.append(
                (
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                    False,
                )
            )
        if eku is None and not ca:
            eku = (CLIENT_AUTH,)
        if eku:
            exts.append((x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in eku]), False))
        if san:
            exts.append((x509.SubjectAlternativeName([_general_name(s) for s in san]), False))
        if name_constraints is not None:
            exts.append((name_constraints.extension(), True))
        if crl_urls:
            points = [
                x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None)
                for u in crl_urls
            ]
            exts.append((x509.CRLDistributionPoints(points), False))
        return exts


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key and its issuer (None for self-signed)."""

    pki: PKI
    x509: x509.Certificate
    key: PrivateKey
    issuer: Issued | None = None

    @property
    def certificate(self) -> Certificate:
        return Certificate.from_cryptography(self.x509, source=f"testing:{self.name}")

    @property
    def name(self) -> str:
        cns = self.x509.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(cns[0].value) if cns else self.x509.subject.rfc4514_string()

    @property
    def der(self) -> bytes:
        return self.x509.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.x509.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def sha1(self) -> str:
        return hashlib.sha1(self.der).hexdigest().upper()

    def chain(self, *, include_root: bool = False) -> list[Issued]:
        """This certificate and its issuers, leaf first; the self-signed top only on request."""
        out: list[Issued] = [self]
        node = self.issuer
        while node is not None:
            if node.issuer is None and not include_root:
                break
            out.append(node)
            node = node.issuer
        return out

    # -- issuing below this CA ------------------------------------------------------------

    def intermediate(self, name: str | X509Name, **options: Any) -> Issued:
        options.setdefault("ca", True)
        options.setdefault("days", 1825)
        return self.pki.issue(name, issuer=self, **options)

    def client(self, name: str | X509Name, **options: Any) -> Issued:
        options.setdefault("eku", (CLIENT_AUTH,))
        return self.pki.issue(name, issuer=self, **options)

    def server(self, name: str, **options: Any) -> Issued:
        options.setdefault("eku", (SERVER_AUTH,))
        options.setdefault("san", (name,))
        return self.pki.issue(name, issuer=self, **options)

    def cross_sign(self, other: Issued, **options: Any) -> Issued:
        """``other``'s subject and key, certified by this CA (a cross-certificate)."""
        options.setdefault("ca", True)
        options.setdefault("days", 1825)
        options.setdefault("path_length", other._path_length())
        return self.pki.issue(other.x509.subject, issuer=self, key=other.key, **options)

    def crl(
        self,
        revoked: Iterable[Issued | tuple[Issued, datetime]] = (),
        *,
        this_update: datetime | None = None,
        next_update: datetime | None = None,
        number: int = 1,
    ) -> CertificateRevocationList:
        now = this_update or self.pki.now - timedelta(hours=1)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.x509.subject)
            .last_update(now)
            .next_update(next_update or now + timedelta(days=7))
            .add_extension(x509.CRLNumber(number), False)
        )
        for item in revoked:
            cert, when = item if isinstance(item, tuple) else (item, now - timedelta(hours=1))
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(cert.x509.serial_number)
                .revocation_date(when)
                .build()
            )
        return builder.sign(self.key, _modern_hash(self.key, "sha256"))

    # -- writing ----------------------------------------------------------------------------

    def write_pem(self, path: str | os.PathLike[str], *, chain: bool = False) -> Path:
        items = self.chain() if chain else [self]
        target = Path(path)
        target.write_bytes(b"".join(i.pem for i in items))
        return target

    def write_key(self, path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        target.write_bytes(self.key_pem)
        return target

    def pfx(self, password: bytes | None = b"test", *, chain: bool = True) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        extra = [i.x509 for i in self.chain(include_root=True)[1:]] if chain else None
        return pkcs12.serialize_key_and_certificates(
            self.name.encode(),
            self.key,  # type: ignore[arg-type]
            self.x509,
            extra,
            encryption,
        )

    def _path_length(self) -> int | None:
        value = self.x509.extensions.get_extension_for_class(x509.BasicConstraints).value
        return value.path_length


# -- store files users export ---------------------------------------------------------------


def pem_bundle(certs: Iterable[Issued | x509.Certificate]) -> bytes:
    return b"".join(_x509_of(c).public_bytes(serialization.Encoding.PEM) for c in certs)


def pkcs7_bundle(certs: Iterable[Issued | x509.Certificate], *, pem: bool = False) -> bytes:
    encoding = serialization.Encoding.PEM if pem else serialization.Encoding.DER
    return pkcs7.serialize_certificates([_x509_of(c) for c in certs], encoding)


def sst_bundle(
    certs: Iterable[Issued | x509.Certificate | tuple[Issued | x509.Certificate, str]],
    *,
    terminator: bool = True,
) -> bytes:
    """A Windows serialized store (.sst) laid out as ``certutil -generateSSTFromWU`` writes it.

    Each certificate is preceded by its properties: friendly name (11, when given as
    ``(cert, name)``), key identifier (20), subject-name MD5 (29) and SHA-1 hash (3), the
    order seen in a real Windows export.
    """
    entries = []
    for item in certs:
        cert, friendly = item if isinstance(item, tuple) else (item, None)
        entries.append((_x509_of(cert).public_bytes(serialization.Encoding.DER), friendly))
    return dump_sst(entries, terminator=terminator)


def _x509_of(item: Issued | x509.Certificate) -> x509.Certificate:
    return item.x509 if isinstance(item, Issued) else item


# -- helpers --------------------------------------------------------------------------------


def _name(name: str | x509.Name) -> x509.Name:
    if isinstance(name, x509.Name):
        return name
    if "=" in name:
        return x509.Name.from_rfc4514_string(name)
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certgate tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )


def _key_usage(names: Iterable[str] | None, ca: bool, key: PrivateKey) -> x509.KeyUsage:
    if names is None:
        if ca:
            names = ("digital_signature", "key_cert_sign", "crl_sign")
        elif isinstance(key, rsa.RSAPrivateKey):
            names = ("digital_signature", "key_encipherment")
        else:
            names = ("digital_signature",)
    chosen = set(names)
    fields = KEY_USAGE_NAMES
    unknown = chosen - set(fields)
    if unknown:
        raise ValueError(f"unknown key usage {sorted(unknown)}")
    return x509.KeyUsage(**{f: f in chosen for f in fields})


def _general_name(spec: str) -> x509.GeneralName:
    kind, _, value = spec.partition(":")
    if not value:
        return x509.DNSName(spec)
    if kind == "dns":
        return x509.DNSName(value)
    if kind == "email":
        return x509.RFC822Name(value)
    if kind == "uri":
        return x509.UniformResourceIdentifier(value)
    if kind == "ip":
        return x509.IPAddress(ip_address(value))
    if kind == "upn":
        upn = asn1_core.UTF8String(value).dump()
        return x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), upn)
    return x509.DNSName(spec)


def _modern_hash(key: PrivateKey, name: str) -> ModernHash | None:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    return _HASHES.get(name, hashes.SHA256())


def _resign(
    cert: x509.Certificate, key: PrivateKey, digest: str, serial: int | None
) -> x509.Certificate:
    """Re-sign with a legacy hash and/or set a non-positive serial, which the builder refuses."""
    der = _resign_der(
        cert.public_bytes(serialization.Encoding.DER),
        key,
        digest,
        serial=serial if serial is not None and serial <= 0 else None,
    )
    with warnings.catch_warnings():  # a non-positive serial warns: that is the point here
        warnings.simplefilter("ignore")
        return x509.load_der_x509_certificate(der)


def tampered(
    issued: Issued,
    *,
    version: int | None = None,
    serial: int | None = None,
    hash: str = "sha256",
) -> bytes:
    """DER of ``issued`` changed in ways no builder allows, validly re-signed by its issuer.

    ``version=4`` makes a certificate ``cryptography`` refuses to load at all: what certgate
    must still read (leniently) and report.
    """
    signer = issued.issuer.key if issued.issuer else issued.key
    return _resign_der(issued.der, signer, hash, serial=serial, version=version)


def _resign_der(
    der: bytes,
    key: PrivateKey,
    digest: str,
    *,
    serial: int | None = None,
    version: int | None = None,
) -> bytes:
    parsed = asn1_x509.Certificate.load(der)
    tbs = parsed["tbs_certificate"]
    if serial is not None:
        tbs["serial_number"] = serial
    if version is not None:
        tbs["version"] = version - 1
    algorithm = None
    if digest in ("sha1", "md5"):
        family = "rsa" if isinstance(key, rsa.RSAPrivateKey) else "ec"
        algorithm = _LEGACY_OIDS.get((family, digest))
        if algorithm is None:
            raise ValueError(f"cannot sign with {digest} and a {family} key")
        tbs["signature"] = {"algorithm": algorithm}
        parsed["signature_algorithm"] = {"algorithm": algorithm}
    data = tbs.dump(force=True)
    chosen: hashes.HashAlgorithm = hashes.SHA1() if digest == "sha1" else hashes.MD5()
    if algorithm is None:
        chosen = _modern_hash(key, digest) or hashes.SHA256()
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(data, padding.PKCS1v15(), chosen)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(data, ec.ECDSA(chosen))
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(data)
    else:
        raise ValueError(f"cannot re-sign with a {type(key).__name__}")
    parsed["signature_value"] = signature
    return bytes(parsed.dump(force=True))
