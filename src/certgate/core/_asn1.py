"""The one place certgate touches ``asn1crypto``.

``cryptography`` is the X.509 parser of record. ``asn1crypto`` is the lenient fallback for the
certificates it refuses (real stores hold some), and it reads RSASSA-PSS parameters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from certgate.core.names import Name
from certgate.core.signatures import SignatureAlgorithm

__all__ = ["LenientCertificate", "pss_algorithm", "signature_algorithm"]

# OID -> (name, scheme, hash). PSS parameters are read separately.
SIGNATURE_ALGORITHMS: dict[str, tuple[str, str, str | None]] = {
    "1.2.840.113549.1.1.2": ("md2WithRSAEncryption", "rsa-pkcs1", "md2"),
    "1.2.840.113549.1.1.3": ("md4WithRSAEncryption", "rsa-pkcs1", "md4"),
    "1.2.840.113549.1.1.4": ("md5WithRSAEncryption", "rsa-pkcs1", "md5"),
    "1.2.840.113549.1.1.5": ("sha1WithRSAEncryption", "rsa-pkcs1", "sha1"),
    "1.3.14.3.2.29": ("sha1WithRSASignature", "rsa-pkcs1", "sha1"),
    "1.2.840.113549.1.1.14": ("sha224WithRSAEncryption", "rsa-pkcs1", "sha224"),
    "1.2.840.113549.1.1.11": ("sha256WithRSAEncryption", "rsa-pkcs1", "sha256"),
    "1.2.840.113549.1.1.12": ("sha384WithRSAEncryption", "rsa-pkcs1", "sha384"),
    "1.2.840.113549.1.1.13": ("sha512WithRSAEncryption", "rsa-pkcs1", "sha512"),
    "2.16.840.1.101.3.4.3.13": ("RSA-SHA3-224", "rsa-pkcs1", "sha3-224"),
    "2.16.840.1.101.3.4.3.14": ("RSA-SHA3-256", "rsa-pkcs1", "sha3-256"),
    "2.16.840.1.101.3.4.3.15": ("RSA-SHA3-384", "rsa-pkcs1", "sha3-384"),
    "2.16.840.1.101.3.4.3.16": ("RSA-SHA3-512", "rsa-pkcs1", "sha3-512"),
    "1.2.840.113549.1.1.10": ("rsassaPss", "rsa-pss", None),
    "1.2.840.10045.4.1": ("ecdsa-with-SHA1", "ecdsa", "sha1"),
    "1.2.840.10045.4.3.1": ("ecdsa-with-SHA224", "ecdsa", "sha224"),
    "1.2.840.10045.4.3.2": ("ecdsa-with-SHA256", "ecdsa", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa-with-SHA384", "ecdsa", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa-with-SHA512", "ecdsa", "sha512"),
    "2.16.840.1.101.3.4.3.9": ("ecdsa-with-SHA3-224", "ecdsa", "sha3-224"),
    "2.16.840.1.101.3.4.3.10": ("ecdsa-with-SHA3-256", "ecdsa", "sha3-256"),
    "2.16.840.1.101.3.4.3.11": ("ecdsa-with-SHA3-384", "ecdsa", "sha3-384"),
    "2.16.840.1.101.3.4.3.12": ("ecdsa-with-SHA3-512", "ecdsa", "sha3-512"),
    "1.2.840.10040.4.3": ("dsa-with-sha1", "dsa", "sha1"),
    "2.16.840.1.101.3.4.3.1": ("dsa-with-sha224", "dsa", "sha224"),
    "2.16.840.1.101.3.4.3.2": ("dsa-with-sha256", "dsa", "sha256"),
    "1.3.101.112": ("Ed25519", "ed25519", None),
    "1.3.101.113": ("Ed448", "ed448", None),
}

_HASH_NAMES = {"sha1": "sha1", "sha224": "sha224", "sha256": "sha256", "sha384": "sha384"}
_HASH_NAMES |= {"sha512": "sha512", "md5": "md5"}


def signature_algorithm(oid: str) -> SignatureAlgorithm:
    name, scheme, digest = SIGNATURE_ALGORITHMS.get(oid, (oid, "unknown", None))
    return SignatureAlgorithm(oid=oid, name=name, scheme=scheme, hash=digest)


def pss_algorithm(certificate_der: bytes) -> SignatureAlgorithm:
    """Read RSASSA-PSS parameters (hash, MGF1 hash, salt) from a certificate's DER."""
    from asn1crypto import x509 as _x509  # imported when needed: a large import (start-up)

    cert = _x509.Certificate.load(certificate_der)
    return _pss_from(cert["signature_algorithm"])


def _pss_from(alg: Any) -> SignatureAlgorithm:
    params = alg["parameters"]
    digest = _HASH_NAMES.get(params["hash_algorithm"]["algorithm"].native, "unknown")
    mgf = params["mask_gen_algorithm"]["parameters"]["algorithm"].native
    salt = int(params["salt_length"].native)
    return SignatureAlgorithm(
        oid="1.2.840.113549.1.1.10",
        name=f"rsassaPss({digest})",
        scheme="rsa-pss",
        hash=digest,
        pss_salt_length=salt,
        pss_mgf_hash=_HASH_NAMES.get(mgf, digest),
    )


class LenientCertificate:
    """The fields certgate needs, read by asn1crypto from DER that ``cryptography`` refused.

    Every field is read eagerly so that an unreadable certificate fails here, once, with a
    reason, instead of later in a rule.
    """

    def __init__(self, der: bytes) -> None:
        from asn1crypto import x509 as _x509  # imported when needed: a large import (start-up)

        try:
            cert = _x509.Certificate.load(der, strict=True)
            tbs = cert["tbs_certificate"]
            self.tbs_der: bytes = tbs.dump()
            self.subject = Name.from_asn1crypto(tbs["subject"])
            self.issuer = Name.from_asn1crypto(tbs["issuer"])
            self.serial: int = int(tbs["serial_number"].native)
            self.version: int = _version(tbs["version"].native)
            self.not_before: datetime = _utc(tbs["validity"]["not_before"].native)
            self.not_after: datetime = _utc(tbs["validity"]["not_after"].native)
            self.spki_der: bytes = tbs["subject_public_key_info"].dump()
            alg = cert["signature_algorithm"]
            oid = alg["algorithm"].dotted
            self.signature_algorithm = (
                _pss_from(alg) if oid == "1.2.840.113549.1.1.10" else signature_algorithm(oid)
            )
            self.signature: bytes = bytes(cert["signature_value"].native)
            self.extensions: tuple[tuple[str, bool], ...] = tuple(
                (ext["extn_id"].dotted, bool(ext["critical"].native))
                for ext in (tbs["extensions"] or [])
            )
            basic = cert.basic_constraints_value
            self.basic_constraints: tuple[bool, int | None] | None = (
                None
                if basic is None
                else (bool(basic["ca"].native), basic["path_len_constraint"].native)
            )
            ku = cert.key_usage_value
            self.key_usage: frozenset[str] | None = (
                None if ku is None else frozenset(_KU_NAMES.get(n, n) for n in ku.native)
            )
            eku = cert.extended_key_usage_value
            self.eku: tuple[str, ...] | None = None if eku is None else tuple(e.dotted for e in eku)
            self.ski: bytes | None = cert.key_identifier
            self.aki: bytes | None = cert.authority_key_identifier
        except Exception as exc:  # asn1crypto raises many types on malformed input
            raise ValueError(f"not a readable X.509 certificate: {exc}") from exc


_KU_NAMES = {
    "digital_signature": "digital_signature",
    "non_repudiation": "content_commitment",
    "key_encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement",
    "key_cert_sign": "key_cert_sign",
    "crl_sign": "crl_sign",
    "encipher_only": "encipher_only",
    "decipher_only": "decipher_only",
}


def _version(native: object) -> int:
    """asn1crypto names known versions ("v3") and returns unknown ones as integers."""
    if isinstance(native, str) and native.startswith("v"):
        return int(native[1:])
    return int(native) + 1 if isinstance(native, int) else 1


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
