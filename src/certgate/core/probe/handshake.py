"""Decode a CertificateRequest handshake message (RFC 5246 §7.4.4, RFC 8446 §4.3.2).

OpenSSL's public API gives the CA names only; the raw message also carries the signature
algorithms, the certificate types (TLS 1.2) and the exact size of the CA list on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CERTIFICATE_REQUEST", "RequestFields", "parse_certificate_request", "scheme_name"]

CERTIFICATE_REQUEST = 13  # HandshakeType certificate_request
_EXT_SIGNATURE_ALGORITHMS = 13
_EXT_CERTIFICATE_AUTHORITIES = 47

SIGNATURE_SCHEMES: dict[int, str] = {
    0x0201: "rsa_pkcs1_sha1",
    0x0202: "dsa_sha1",
    0x0203: "ecdsa_sha1",
    0x0301: "rsa_pkcs1_sha224",
    0x0302: "dsa_sha224",
    0x0303: "ecdsa_sha224",
    0x0401: "rsa_pkcs1_sha256",
    0x0402: "dsa_sha256",
    0x0403: "ecdsa_secp256r1_sha256",
    0x0501: "rsa_pkcs1_sha384",
    0x0502: "dsa_sha384",
    0x0503: "ecdsa_secp384r1_sha384",
    0x0601: "rsa_pkcs1_sha512",
    0x0602: "dsa_sha512",
    0x0603: "ecdsa_secp521r1_sha512",
    0x0804: "rsa_pss_rsae_sha256",
    0x0805: "rsa_pss_rsae_sha384",
    0x0806: "rsa_pss_rsae_sha512",
    0x0807: "ed25519",
    0x0808: "ed448",
    0x0809: "rsa_pss_pss_sha256",
    0x080A: "rsa_pss_pss_sha384",
    0x080B: "rsa_pss_pss_sha512",
    0x081A: "ecdsa_brainpoolP256r1tls13_sha256",
    0x081B: "ecdsa_brainpoolP384r1tls13_sha384",
    0x081C: "ecdsa_brainpoolP512r1tls13_sha512",
}
CERTIFICATE_TYPES: dict[int, str] = {
    1: "rsa_sign",
    2: "dss_sign",
    3: "rsa_fixed_dh",
    4: "dss_fixed_dh",
    64: "ecdsa_sign",
    65: "rsa_fixed_ecdh",
    66: "ecdsa_fixed_ecdh",
}


@dataclass(frozen=True)
class RequestFields:
    ca_names: tuple[bytes, ...]  # DER of each DistinguishedName, in the order sent
    ca_names_bytes: int  # length of the certificate_authorities list
    signature_algorithms: tuple[str, ...]
    certificate_types: tuple[str, ...] | None  # TLS 1.2 only


def scheme_name(code: int) -> str:
    return SIGNATURE_SCHEMES.get(code, f"0x{code:04x}")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, count: int, what: str) -> bytes:
        if self.at + count > len(self.data):
            raise ValueError(f"CertificateRequest truncated in {what}")
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk

    def number(self, size: int, what: str) -> int:
        return int.from_bytes(self.take(size, what), "big")

    def vector(self, length_size: int, what: str) -> bytes:
        return self.take(self.number(length_size, what), what)

    def done(self) -> bool:
        return self.at == len(self.data)


def parse_certificate_request(message: bytes, *, tls13: bool) -> RequestFields:
    """``message`` is the whole handshake message (type, 3-byte length, body).

    Raises ``ValueError`` when it is not a well-formed CertificateRequest.
    """
    outer = _Reader(message)
    if outer.number(1, "type") != CERTIFICATE_REQUEST:
        raise ValueError("not a CertificateRequest message")
    body = _Reader(outer.vector(3, "message length"))
    if not outer.done():
        raise ValueError("bytes after the CertificateRequest message")
    fields = _tls13(body) if tls13 else _tls12(body)
    if not body.done():
        raise ValueError("bytes after the CertificateRequest fields")
    return fields


def _tls12(body: _Reader) -> RequestFields:
    types = body.vector(1, "certificate_types")
    schemes = _schemes(body.vector(2, "supported_signature_algorithms"))
    authorities = body.vector(2, "certificate_authorities")
    return RequestFields(
        _names(authorities),
        len(authorities),
        schemes,
        tuple(CERTIFICATE_TYPES.get(t, f"type-{t}") for t in types),
    )


def _tls13(body: _Reader) -> RequestFields:
    body.vector(1, "certificate_request_context")
    extensions = _Reader(body.vector(2, "extensions"))
    schemes: tuple[str, ...] = ()
    authorities = b""
    while not extensions.done():
        kind = extensions.number(2, "extension type")
        data = extensions.vector(2, "extension data")
        if kind == _EXT_SIGNATURE_ALGORITHMS:
            inner = _Reader(data)
            schemes = _schemes(inner.vector(2, "signature_algorithms"))
            _expect_done(inner, "signature_algorithms")
        elif kind == _EXT_CERTIFICATE_AUTHORITIES:
            inner = _Reader(data)
            authorities = inner.vector(2, "certificate_authorities")
            _expect_done(inner, "certificate_authorities")
    return RequestFields(_names(authorities), len(authorities), schemes, None)


def _expect_done(reader: _Reader, what: str) -> None:
    if not reader.done():
        raise ValueError(f"bytes after the {what} list")


def _schemes(data: bytes) -> tuple[str, ...]:
    if len(data) % 2:
        raise ValueError("odd-length signature algorithm list")
    return tuple(
        scheme_name(int.from_bytes(data[i : i + 2], "big")) for i in range(0, len(data), 2)
    )


def _names(data: bytes) -> tuple[bytes, ...]:
    reader = _Reader(data)
    names: list[bytes] = []
    while not reader.done():
        names.append(reader.vector(2, "distinguished name"))
    return tuple(names)
