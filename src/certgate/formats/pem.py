"""PEM bundles: certificates, PKCS#7 and CRL blocks; comments and junk between blocks tolerated."""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator

from cryptography import x509

from certgate.errors import InputError
from certgate.formats._base import (
    Item,
    Loaded,
    LoadWarning,
    collect,
    der_header,
    make_certificate,
)
from certgate.formats.pkcs7 import load_pkcs7

__all__ = ["load_pem", "looks_like_pem", "read_pem"]

_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,40})-----")
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE"}
_PKCS7_LABELS = {b"PKCS7", b"PKCS #7 SIGNED DATA", b"CMS"}
_CRL_LABELS = {b"X509 CRL"}


def looks_like_pem(data: bytes) -> bool:
    return _BEGIN.search(data) is not None


def load_pem(data: bytes, path: str) -> Loaded:
    return collect(read_pem(data, path), ((path, "pem"),))


def read_pem(data: bytes, path: str) -> Iterator[Item]:
    """Certificates, CRLs and warnings one at a time, in file order (``load_pem`` gathers
    them; ``certgate audit`` judges each certificate as it comes and drops it). Raises
    ``InputError`` where the file is unusable, possibly after yielding earlier blocks."""
    certs = crls = 0
    junk_lines: list[int] = []
    position = 0
    line = 1
    index = 0
    while True:
        match = _BEGIN.search(data, position)
        outside = data[position : match.start() if match else len(data)]
        if outside.strip():
            junk_lines += _junk(outside, line)
        if match is None:
            break
        line += outside.count(b"\n")
        label = match.group(1)
        end_marker = b"-----END " + label + b"-----"
        end = data.find(end_marker, match.end())
        where = f"PEM block {index + 1}, line {line}"
        if end < 0:
            raise InputError(path, f"{label.decode()} block has no END line", where)
        body = data[match.end() : end]
        der = _decode(body, path, where)
        if label in _CERT_LABELS:  # the common case, kept lean for large bundles
            cert, cert_warnings = make_certificate(der, path, where)
            certs += 1
            yield cert
            yield from cert_warnings
        else:
            loaded = _block(label, der, path, where)
            certs += len(loaded.certificates)
            crls += len(loaded.crls)
            yield from loaded.certificates
            yield from loaded.crls
            yield from loaded.warnings
        line += data.count(b"\n", match.start(), end + len(end_marker))
        position = end + len(end_marker)
        index += 1
    if index == 0:
        raise InputError(path, "no PEM block found")
    if not certs and not crls:
        labels = ", ".join(dict.fromkeys(label.decode() for label in _BEGIN.findall(data)))
        raise InputError(path, f"no certificate in this PEM file (it holds: {labels})")
    if junk_lines:
        yield LoadWarning(
            path,
            f"{len(junk_lines)} line(s) of text outside PEM blocks ignored",
            f"line {junk_lines[0]}",
        )


def _block(label: bytes, der: bytes, path: str, where: str) -> Loaded:
    name = label.decode()
    if label == b"TRUSTED CERTIFICATE":
        # OpenSSL's trusted format: a DER certificate followed by trust settings.
        header = der_header(der)
        if header is None or header.total > len(der):
            raise InputError(path, "TRUSTED CERTIFICATE block is not DER", where)
        cert, warnings = make_certificate(der[: header.total], path, where)
        return Loaded((cert,), (), tuple(warnings))
    if label in _PKCS7_LABELS:
        return load_pkcs7(der, path, where)
    if label in _CRL_LABELS:
        try:
            return Loaded((), (x509.load_der_x509_crl(der),))
        except ValueError as exc:
            raise InputError(path, f"unreadable CRL: {exc}", where) from exc
    if label.endswith(b"PRIVATE KEY"):
        message = f"{name} block ignored: certgate never reads private keys"
        return Loaded(warnings=(LoadWarning(path, message, where),))
    return Loaded(warnings=(LoadWarning(path, f"{name} block ignored", where),))


def _decode(body: bytes, path: str, where: str) -> bytes:
    if b":" in body:  # RFC 1421 headers (Proc-Type, DEK-Info) in old-style PEM
        body = b"\n".join(ln for ln in body.splitlines() if b":" not in ln)
    payload = body.translate(None, b" \t\r\n")
    try:
        der = binascii.a2b_base64(payload, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(path, f"broken base64 in PEM block: {exc}", where) from exc
    if not der:
        raise InputError(path, "empty PEM block", where)
    return der


def _junk(text: bytes, first_line: int) -> list[int]:
    return [
        first_line + offset for offset, content in enumerate(text.split(b"\n")) if content.strip()
    ]
