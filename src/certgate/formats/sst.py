"""Windows serialized certificate stores (.sst).

Written by ``Export-Certificate -Type SST`` and ``certutil -generateSSTFromWU``. Layout
(docs/windows-model.md#sst): ``00000000 'CERT'``, then elements ``{propId, encodingType, cb}`` +
data, ending with a zero propId. Element 0x20 is a DER certificate, 0x21 a CRL, 0x22 a CTL; any
other propId is a property. Properties come *before* the certificate they describe: confirmed on a
real ``-generateSSTFromWU`` file (434 certificates, each preceded by its friendly name).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator

from cryptography import x509

from certgate.core.model import Certificate
from certgate.errors import InputError
from certgate.formats._base import Item, Loaded, LoadWarning, collect, make_certificate

__all__ = ["MAGIC", "dump_sst", "load_sst", "read_sst"]

MAGIC = b"\x00\x00\x00\x00CERT"
CERT_ELEMENT = 0x20
CRL_ELEMENT = 0x21
CTL_ELEMENT = 0x22
FRIENDLY_NAME = 11
KEY_IDENTIFIER = 20
SUBJECT_NAME_MD5 = 29
SHA1_HASH = 3
_HEADER = struct.Struct("<III")


def load_sst(data: bytes, path: str) -> Loaded:
    return collect(read_sst(data, path), ((path, "sst"),))


def read_sst(data: bytes, path: str) -> Iterator[Item]:
    """Certificates, CRLs and warnings one at a time, in store order (see ``pem.read_pem``)."""
    if not data.startswith(MAGIC):
        raise InputError(path, "not a serialized certificate store (no 00000000 'CERT' header)")
    friendly: str | None = None
    offset = len(MAGIC)
    index = 0
    while True:
        if offset == len(data):
            yield LoadWarning(path, "no end-of-store marker", f"byte {offset}")
            break
        if offset + _HEADER.size > len(data):
            raise InputError(path, "element header cut short", f"byte {offset}")
        prop_id, encoding, size = _HEADER.unpack_from(data, offset)
        if prop_id == 0:
            break
        start = offset + _HEADER.size
        if start + size > len(data):
            raise InputError(
                path,
                f"element {index} (property {prop_id}) claims {size} bytes, "
                f"only {len(data) - start} remain",
                f"byte {offset}",
            )
        body = data[start : start + size]
        where = f"element {index}, byte {offset}"
        if prop_id == CERT_ELEMENT:
            if encoding != 1:
                yield LoadWarning(path, f"encoding type {encoding}, expected 1", where)
            cert, cert_warnings = make_certificate(body, path, where, friendly)
            yield cert
            yield from cert_warnings
            friendly = None
        elif prop_id == CRL_ELEMENT:
            try:
                crl = x509.load_der_x509_crl(body)
            except ValueError as exc:
                yield LoadWarning(path, f"unreadable CRL skipped: {exc}", where)
            else:
                yield crl
            friendly = None
        elif prop_id == CTL_ELEMENT:
            yield LoadWarning(path, "certificate trust list (CTL) skipped", where)
            friendly = None
        elif prop_id == FRIENDLY_NAME:
            friendly = _friendly_name(body)
        offset = start + size
        index += 1


def _friendly_name(body: bytes) -> str | None:
    text = body.decode("utf-16-le", errors="replace").split("\x00", 1)[0].strip()
    return text or None


def dump_sst(entries: Iterable[tuple[bytes, str | None]], *, terminator: bool = True) -> bytes:
    """A serialized store of DER certificates, properties first, as Windows writes them.

    Per certificate: friendly name (11), key identifier (20, from the SKI), subject-name MD5
    (29) and SHA-1 hash (3), then the certificate (0x20): the order of a real
    ``certutil -generateSSTFromWU`` export. Nothing else is written: no key-provider
    information, so no pointer to any private key.
    """

    def element(prop_id: int, data: bytes) -> bytes:
        return _HEADER.pack(prop_id, 1, len(data)) + data

    out = bytearray(MAGIC)
    for der, friendly in entries:
        if friendly:
            out += element(FRIENDLY_NAME, (friendly + "\x00").encode("utf-16-le"))
        cert = Certificate.from_der(der)
        if cert.subject_key_identifier:
            out += element(KEY_IDENTIFIER, cert.subject_key_identifier)
        out += element(SUBJECT_NAME_MD5, hashlib.md5(cert.subject.der).digest())
        out += element(SHA1_HASH, hashlib.sha1(der).digest())
        out += element(CERT_ELEMENT, der)
    if terminator:
        out += bytes(_HEADER.size)
    return bytes(out)
