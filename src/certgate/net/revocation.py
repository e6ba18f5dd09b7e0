"""Fetch CRLs from the certificates' CRL distribution points (``certgate verify --online``).

HTTP(S) only, one attempt per URL, a timeout per request and a size cap; every failure is a
warning, never an exception, so the engines then judge with what could be fetched.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509

from certgate.core.model import Certificate

__all__ = ["FetchedCRLs", "crl_urls", "fetch_crls"]

MAX_CRL_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class FetchedCRLs:
    crls: tuple[x509.CertificateRevocationList, ...]
    warnings: tuple[str, ...]


def crl_urls(certs: Iterable[Certificate]) -> list[str]:
    """The HTTP(S) CRL distribution point URLs of ``certs``, each once, in order."""
    urls: dict[str, None] = {}
    for cert in certs:
        if cert.x509 is None:
            continue
        try:
            points = cert.x509.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        except (x509.ExtensionNotFound, ValueError):
            continue
        for point in points:
            for name in point.full_name or ():
                if isinstance(
                    name, x509.UniformResourceIdentifier
                ) and name.value.lower().startswith(("http://", "https://")):
                    urls[name.value] = None
    return list(urls)


def fetch_crls(certs: Iterable[Certificate], *, timeout: float = 5.0) -> FetchedCRLs:
    crls: list[x509.CertificateRevocationList] = []
    warnings: list[str] = []
    for url in crl_urls(certs):
        try:
            crls.append(_fetch(url, timeout))
        except (OSError, ValueError, urllib.error.URLError) as exc:
            warnings.append(f"{url}: CRL not fetched: {exc}")
    return FetchedCRLs(tuple(crls), tuple(warnings))


def _fetch(url: str, timeout: float) -> x509.CertificateRevocationList:
    request = urllib.request.Request(url, headers={"User-Agent": "certgate"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        data = response.read(MAX_CRL_BYTES + 1)
    if len(data) > MAX_CRL_BYTES:
        raise ValueError(f"CRL larger than {MAX_CRL_BYTES} bytes")
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)
