"""The quick name reader (``names.quick_rdns``) says what ``cryptography`` says, or steps aside.

Names are encoded here byte by byte (any OID, any string tag, any bytes), put into a real
certificate in place of its subject, and read by ``cryptography``: where the quick reader
answers, the attributes must be the same; where ``cryptography`` refuses the name, the quick
reader must not answer (the refusal is what users are shown).
"""

from __future__ import annotations

import warnings

from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.core.der import der_header
from certgate.core.model import Certificate
from certgate.core.names import _crypto_rdns, quick_rdns
from certgate.testing import PKI


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _length(len(body)) + body


def _elements(der: bytes) -> list[bytes]:
    header = der_header(der)
    assert header is not None
    position, out = header.header_length, []
    while position < header.total:
        item = der_header(der, position)
        assert item is not None
        out.append(der[position : position + item.total])
        position += item.total
    return out


def with_subject(cert_der: bytes, subject: bytes) -> bytes:
    """The certificate with its subject replaced by ``subject`` (signature left stale)."""
    tbs, *rest = _elements(cert_der)
    fields = _elements(tbs)
    index = 5 if fields[0][0] == 0xA0 else 4  # [0] version, serial, alg, issuer, validity
    fields[index] = subject
    return tlv(0x30, tlv(0x30, b"".join(fields)) + b"".join(rest))


OIDS = [
    bytes.fromhex("550403"),  # CN
    bytes.fromhex("55040a"),  # O
    bytes.fromhex("550406"),  # C
    bytes.fromhex("2a864886f70d010901"),  # emailAddress
    bytes.fromhex("0992268993f22c640119"),  # DC
    bytes.fromhex("8837"),  # 2.999
    bytes.fromhex("2b0601040182370201"),  # 1.3.6.1.4.1.311.2.1: an arbitrary enterprise OID
    bytes.fromhex("2b80"),  # malformed: ends inside a sub-identifier
    bytes.fromhex("2b8001"),  # malformed: leading zero digit
]
TAGS = [0x0C, 0x13, 0x16, 0x14, 0x1E, 0x1C, 0x04, 0x03]
VALUES = st.one_of(
    st.text(alphabet="abcXYZ 019'()+,-./:=?", min_size=1, max_size=20).map(str.encode),
    st.text(min_size=0, max_size=12).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=12),
)
ATTRIBUTE = st.tuples(st.sampled_from(OIDS), st.sampled_from(TAGS), VALUES)
NAME = st.lists(st.lists(ATTRIBUTE, min_size=1, max_size=2), max_size=3)

_TEMPLATE = PKI().root("CN=Template").certificate.der


def encode(name: list[list[tuple[bytes, int, bytes]]]) -> bytes:
    return tlv(
        0x30,
        b"".join(
            tlv(0x31, b"".join(tlv(0x30, tlv(0x06, oid) + tlv(tag, v)) for oid, tag, v in rdn))
            for rdn in name
        ),
    )


@settings(max_examples=150, deadline=None)
@given(NAME)
def test_quick_names_match_cryptography(name: list[list[tuple[bytes, int, bytes]]]) -> None:
    der = encode(name)
    quick = quick_rdns(der)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = x509.load_der_x509_certificate(with_subject(_TEMPLATE, der))
            expected = _crypto_rdns(parsed.subject)
    except Exception:
        assert quick is None, f"cryptography refuses {der.hex()}, the quick reader did not"
        return
    if quick is not None:
        assert quick == expected


def test_plain_names_are_read_quickly_and_identically(pki: PKI) -> None:
    cert = pki.issue("CN=Ünïcode Leaf,O=Contoso Ltd,C=DE", issuer=pki.root("Root")).certificate
    parsed = cert.x509
    assert parsed is not None
    for name, theirs in ((cert.subject, parsed.subject), (cert.issuer, parsed.issuer)):
        assert quick_rdns(name.der) == _crypto_rdns(theirs)
    assert str(Certificate.from_der(cert.der).subject) == "CN=Ünïcode Leaf, O=Contoso Ltd, C=DE"
