"""PKCS#7 / CMS certificate bundles (.p7b, .p7c), DER or PEM-armoured, and BER with indefinite
lengths (``openssl cms -stream``, some Windows and Java tools), which asn1crypto reads as is.

Read with ``asn1crypto`` rather than ``cryptography``'s loader: one certificate that
``cryptography`` refuses must not make the whole bundle unreadable, and CRLs inside are kept.
"""

from __future__ import annotations

from cryptography import x509

from certgate.core.model import Certificate
from certgate.errors import InputError
from certgate.formats._base import Loaded, LoadWarning, make_certificate

__all__ = ["load_pkcs7"]


def load_pkcs7(der: bytes, path: str, where: str = "") -> Loaded:
    prefix = f"{where}, " if where else ""
    try:
        from asn1crypto import cms  # imported when needed: a large import (start-up)

        info = cms.ContentInfo.load(der, strict=True)
        content_type = info["content_type"].native
        if content_type != "signed_data":
            raise InputError(path, f"PKCS#7 content is {content_type}, not signed data", where)
        signed = info["content"]
        entries = list(signed["certificates"] or [])
        crl_entries = list(signed["crls"] or [])
    except InputError:
        raise
    except Exception as exc:  # asn1crypto raises assorted types on malformed DER
        raise InputError(path, f"not a readable PKCS#7 bundle: {exc}", where or None) from exc
    certs: list[Certificate] = []
    warnings: list[LoadWarning] = []
    for index, entry in enumerate(entries):
        place = f"{prefix}certificate {index}"
        if entry.name != "certificate":
            warnings.append(LoadWarning(path, f"{entry.name} entry skipped", place))
            continue
        cert, cert_warnings = make_certificate(entry.chosen.dump(), path, place)
        certs.append(cert)
        warnings.extend(cert_warnings)
    crls: list[x509.CertificateRevocationList] = []
    for index, entry in enumerate(crl_entries):
        try:
            crls.append(x509.load_der_x509_crl(entry.chosen.dump()))
        except ValueError as exc:
            warnings.append(LoadWarning(path, f"unreadable CRL skipped: {exc}", f"crl {index}"))
    if not certs and not crls:
        warnings.append(LoadWarning(path, "PKCS#7 bundle holds no certificates", where or None))
    return Loaded(tuple(certs), tuple(crls), tuple(warnings), ((path, "pkcs7"),))
