"""Signature checks for every algorithm real PKIs use, legacy ones included.

``cryptography``'s ``verify_directly_issued_by`` refuses SHA-1 and MD5, but Windows roots
signed that way are common and their self-signature decides whether Windows treats them as
self-signed. So we verify with the public-key primitives, which still accept those hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

__all__ = ["SignatureAlgorithm", "SignatureCheck", "SignatureStatus", "verify_signature"]

WEAK_HASHES = frozenset({"md2", "md4", "md5", "sha1"})

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "sha3-224": hashes.SHA3_224,
    "sha3-256": hashes.SHA3_256,
    "sha3-384": hashes.SHA3_384,
    "sha3-512": hashes.SHA3_512,
}


@dataclass(frozen=True)
class SignatureAlgorithm:
    """How a certificate is signed, independent of which parser read it."""

    oid: str
    name: str
    scheme: str  # rsa-pkcs1, rsa-pss, ecdsa, dsa, ed25519, ed448, unknown
    hash: str | None = None
    pss_salt_length: int | None = None
    pss_mgf_hash: str | None = None

    @property
    def weak(self) -> bool:
        return self.hash in WEAK_HASHES

    def __str__(self) -> str:
        return self.name


class SignatureStatus(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNSUPPORTED = "unsupported"  # algorithm or key we cannot check: never counted as valid


@dataclass(frozen=True)
class SignatureCheck:
    status: SignatureStatus
    reason: str = ""

    @property
    def valid(self) -> bool:
        return self.status is SignatureStatus.VALID


_VALID = SignatureCheck(SignatureStatus.VALID)


def verify_signature(
    public_key: CertificatePublicKeyTypes | None,
    signature: bytes,
    data: bytes,
    algorithm: SignatureAlgorithm,
) -> SignatureCheck:
    """Check ``signature`` over ``data``. Never raises for bad input: the outcome says why."""
    if public_key is None:
        return SignatureCheck(SignatureStatus.UNSUPPORTED, "the signer's public key is unusable")
    try:
        return _verify(public_key, signature, data, algorithm)
    except InvalidSignature:
        return SignatureCheck(SignatureStatus.INVALID, "signature does not verify")
    except (UnsupportedAlgorithm, ValueError, TypeError) as exc:
        return SignatureCheck(SignatureStatus.UNSUPPORTED, f"{algorithm.name}: {exc}")


def _verify(
    key: CertificatePublicKeyTypes,
    signature: bytes,
    data: bytes,
    alg: SignatureAlgorithm,
) -> SignatureCheck:
    digest = _hash(alg.hash)
    if alg.scheme == "ed25519":
        if not isinstance(key, ed25519.Ed25519PublicKey):
            return _mismatch(alg, key)
        key.verify(signature, data)
        return _VALID
    if alg.scheme == "ed448":
        if not isinstance(key, ed448.Ed448PublicKey):
            return _mismatch(alg, key)
        key.verify(signature, data)
        return _VALID
    if digest is None:
        return SignatureCheck(SignatureStatus.UNSUPPORTED, f"hash {alg.hash} is not supported")
    if alg.scheme == "rsa-pkcs1":
        if not isinstance(key, rsa.RSAPublicKey):
            return _mismatch(alg, key)
        key.verify(signature, data, padding.PKCS1v15(), digest)
        return _VALID
    if alg.scheme == "rsa-pss":
        if not isinstance(key, rsa.RSAPublicKey):
            return _mismatch(alg, key)
        mgf_hash = _hash(alg.pss_mgf_hash) or digest
        salt = alg.pss_salt_length if alg.pss_salt_length is not None else digest.digest_size
        key.verify(signature, data, padding.PSS(padding.MGF1(mgf_hash), salt), digest)
        return _VALID
    if alg.scheme == "ecdsa":
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return _mismatch(alg, key)
        key.verify(signature, data, ec.ECDSA(digest))
        return _VALID
    if alg.scheme == "dsa":
        if not isinstance(key, dsa.DSAPublicKey):
            return _mismatch(alg, key)
        key.verify(signature, data, digest)
        return _VALID
    return SignatureCheck(SignatureStatus.UNSUPPORTED, f"signature algorithm {alg.oid}")


def _hash(name: str | None) -> hashes.HashAlgorithm | None:
    factory = _HASHES.get(name or "")
    return factory() if factory else None


def _mismatch(alg: SignatureAlgorithm, key: CertificatePublicKeyTypes) -> SignatureCheck:
    kinds = (
        (rsa.RSAPublicKey, "an RSA"),
        (ec.EllipticCurvePublicKey, "an EC"),
        (ed25519.Ed25519PublicKey, "an Ed25519"),
        (ed448.Ed448PublicKey, "an Ed448"),
        (dsa.DSAPublicKey, "a DSA"),
    )
    kind = next((label for cls, label in kinds if isinstance(key, cls)), "this")
    return SignatureCheck(
        SignatureStatus.INVALID, f"{alg.name} signature cannot be made by {kind} key"
    )
