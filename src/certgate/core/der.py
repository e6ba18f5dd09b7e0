"""Just enough DER reading to route bytes and slice a certificate's names without parsing it.

Full parsing is ``cryptography``'s job; this reads tag-and-length headers only, so a loader can
recognise what a file holds and the model can compare names byte-for-byte cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DerHeader",
    "der_header",
    "signed_kind",
    "suspicious_name",
    "tbs_names",
    "tbs_slice",
    "tlv",
]


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


def signed_kind(data: bytes) -> str | None:
    """``certificate`` or ``crl`` for a DER SIGNED{...} structure, by the shape of its TBS.

    A TBSCertificate starts with [0] version or the serial INTEGER and has a Validity SEQUENCE
    after the issuer; a TBSCertList starts with the version INTEGER or the AlgorithmIdentifier
    SEQUENCE and has a Time (thisUpdate) after the issuer.
    """
    outer = der_header(data)
    if outer is None or outer.tag != 0x30:
        return None
    start = outer.header_length
    tbs = der_header(data, start)
    if tbs is None or tbs.tag != 0x30:
        return None
    first = start + tbs.header_length
    if first >= len(data):
        return None
    if data[first] == 0xA0:
        return "certificate"
    if data[first] == 0x30:
        return "crl"  # v1 CRL: no version, the AlgorithmIdentifier comes first
    position = _skip(data, first)  # serial (certificate) or version (CRL)
    position = _skip(data, position)  # AlgorithmIdentifier
    position = _skip(data, position)  # issuer Name
    if position >= len(data):
        return None
    return "crl" if data[position] in (0x17, 0x18) else "certificate"


def tlv(data: bytes, position: int, end: int) -> tuple[int, int, int] | None:
    """(tag, content start, content end) of the DER element at ``position`` within ``end``,
    or None unless it is well-formed DER (definite, minimal length). A tuple, not a
    ``DerHeader``: this runs several times for every certificate of a large store."""
    if position + 2 > end:
        return None
    tag, length = data[position], data[position + 1]
    position += 2
    if length >= 0x80:
        count = length & 0x7F
        if not 0 < count < 4 or position + count > end or data[position] == 0:
            return None
        length = int.from_bytes(data[position : position + count], "big")
        if length < 0x80:  # not minimal: not DER
            return None
        position += count
    if position + length > end:
        return None
    return tag, position, position + length


def tbs_slice(der: bytes) -> bytes | None:
    """A certificate's TBSCertificate exactly as encoded (the bytes its signature covers)."""
    outer = tlv(der, 0, len(der))
    if outer is None or outer[0] != 0x30:
        return None
    inner = tlv(der, outer[1], outer[2])
    if inner is None or inner[0] != 0x30:
        return None
    return der[outer[1] : inner[2]]


def tbs_names(tbs: bytes) -> tuple[bytes, bytes] | None:
    """(issuer DER, subject DER) sliced out of a TBSCertificate, or None if it is odd."""
    end = len(tbs)
    outer = tlv(tbs, 0, end)
    if outer is None or outer[0] != 0x30:
        return None
    position, end = outer[1], outer[2]
    if position < end and tbs[position] == 0xA0:  # [0] version
        position = _next(tbs, position, end)
    position = _next(tbs, position, end)  # serialNumber
    position = _next(tbs, position, end)  # signature AlgorithmIdentifier
    issuer = tlv(tbs, position, end)
    if issuer is None or issuer[0] != 0x30:
        return None
    validity = tlv(tbs, issuer[2], end)
    if validity is None:
        return None
    subject = tlv(tbs, validity[2], end)
    if subject is None or subject[0] != 0x30:
        return None
    return tbs[position : issuer[2]], tbs[validity[2] : subject[2]]


def _next(data: bytes, position: int, end: int) -> int:
    element = tlv(data, position, end)
    return end + 1 if element is None else element[2]


_CN = b"\x06\x03\x55\x04\x03"
_COUNTRY = b"\x06\x03\x55\x04\x06"


def suspicious_name(der: bytes) -> bool:
    """Could ``cryptography`` object to this name (CN outside 1..64 bytes, C not 2)?

    A byte scan, far cheaper than decoding: True only means "decode it now and record what is
    wrong". Names that pass are decoded on first use (see ``Name.problem``).
    """
    for oid, low, high in ((_CN, 1, 64), (_COUNTRY, 2, 2)):
        start = der.find(oid)
        while start >= 0:
            value = der_header(der, start + len(oid))
            # Bytes, not characters: multi-byte UTF-8 may still be fine; the parser decides.
            if value is None or not low <= value.content_length <= high:
                return True
            start = der.find(oid, start + 1)
    return False


def _skip(data: bytes, position: int) -> int:
    header = der_header(data, position)
    return len(data) + 1 if header is None else position + header.total


def _slice(data: bytes, position: int) -> bytes | None:
    header = der_header(data, position)
    if header is None or header.tag != 0x30 or position + header.total > len(data):
        return None
    return data[position : position + header.total]
