"""Hostile and malformed certificates for tests and benchmarks: what an attacker sends.

Shapes follow x509-limbo's cases (github C2SP/x509-limbo, ``rfc5280::duplicate-extensions``,
``rfc5280::nc::invalid-ipv4-address``, ``pathological::nc-dos-*``), rebuilt here with
``cryptography`` and ``asn1crypto``; no limbo data is copied.
"""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from certgate.testing import PKI, Issued, KeyType, PrivateKey

__all__ = [
    "NameConstraintAttack",
    "bad_ip_name_constraint_ca",
    "duplicated_extension",
    "name_constraint_attack",
]

# nameConstraints { permittedSubtrees { iPAddress 192.168.0.0 + one stray octet } }: 5 octets,
# where RFC 5280 §4.2.1.10 wants 8 (IPv4 + mask) or 32 (IPv6 + mask); and limbo's shape, a
# bare 4-octet address without its mask.
BAD_IP_CONSTRAINT = bytes.fromhex("300ba00930078705c0a80000ff")
MASKLESS_IP_CONSTRAINT = bytes.fromhex("300aa00830068704c0a80000")


def duplicated_extension(issued: Issued) -> bytes:
    """DER of ``issued`` with its first extension repeated, validly re-signed by its issuer."""
    parsed = asn1_x509.Certificate.load(issued.der)
    tbs = parsed["tbs_certificate"]
    extensions = tbs["extensions"]
    extensions.append(extensions[0].copy())
    signer = issued.issuer.key if issued.issuer is not None else issued.key
    parsed["signature_value"] = _sign(signer, tbs.dump(force=True))
    return bytes(parsed.dump(force=True))


def bad_ip_name_constraint_ca(
    issuer: Issued, name: str = "Bad NC CA", *, octets: int = 5
) -> Issued:
    """An intermediate whose critical nameConstraints holds a 5-octet (or, ``octets=4``, a
    mask-less 4-octet) iPAddress."""
    value = MASKLESS_IP_CONSTRAINT if octets == 4 else BAD_IP_CONSTRAINT
    raw = x509.UnrecognizedExtension(x509.ObjectIdentifier("2.5.29.30"), value)
    return issuer.intermediate(name, extra_extensions=[(raw, True)])


@dataclass(frozen=True)
class NameConstraintAttack:
    intermediate: Issued
    leaf: Issued

    @property
    def chain_der(self) -> list[bytes]:
        return [self.leaf.der, self.intermediate.der]


def name_constraint_attack(
    pki: PKI,
    root: Issued,
    *,
    forged: bool = True,
    permitted: int = 1000,
    excluded: int = 1000,
    sans: int = 1200,
) -> NameConstraintAttack:
    """The expensive chain of issue 13: an intermediate naming ``root`` as its issuer with
    ``permitted`` + ``excluded`` DNS subtrees, and a leaf with ``sans`` DNS names.

    ``forged``: the intermediate is signed by the attacker's own key (its signature fails
    under the real root); otherwise by the root itself (limbo's nc-dos shape, where only the
    amount of work is hostile)."""
    constraints = x509.NameConstraints(
        permitted_subtrees=[x509.DNSName(f"p{i}.example") for i in range(permitted)] or None,
        excluded_subtrees=[x509.DNSName(f"x{i}.example") for i in range(excluded)] or None,
    )
    extra = [(constraints, True)]
    if forged:
        attacker = pki.root(root.x509.subject, key=KeyType.P256)
        intermediate = pki.issue(
            "Attacker CA",
            issuer=attacker,
            ca=True,
            key=KeyType.P256,
            extra_extensions=extra,
            issuer_name=root.x509.subject,
        )
    else:
        intermediate = root.intermediate("Constrained CA", key=KeyType.P256, extra_extensions=extra)
    names = tuple(f"dns:n{i}.p{i % max(permitted, 1)}.example" for i in range(sans))
    leaf = intermediate.client("victim", san=names, key=KeyType.P256)
    return NameConstraintAttack(intermediate, leaf)


def _sign(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    raise ValueError(f"cannot re-sign with a {type(key).__name__}")
