"""The trust store of the machine certgate runs on.

Windows: the system stores through ``ssl.enum_certificates`` (Root, CA, ClientAuthIssuer,
Disallowed, My). Elsewhere: OpenSSL's default CA file and directory, which is what nginx,
curl and Python use unless configured otherwise.
"""

from __future__ import annotations

import ssl
import sys
from pathlib import Path

from certgate.core.stores import CA, CLIENT_AUTH_ISSUER, DISALLOWED, MY, ROOT
from certgate.errors import InputError
from certgate.formats import Loaded, load_file
from certgate.formats._base import LoadWarning, make_certificate

__all__ = ["load_system_stores"]

_FALLBACK_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
)


def load_system_stores() -> dict[str, Loaded]:
    """Store name -> what was loaded. Raises ``InputError`` when no store can be found."""
    if sys.platform == "win32":
        return _windows()
    return {ROOT: _openssl_default()}


def _openssl_default() -> Loaded:
    paths = ssl.get_default_verify_paths()
    candidates = [p for p in (paths.cafile, paths.openssl_cafile, *_FALLBACK_BUNDLES) if p]
    for candidate in candidates:
        if Path(candidate).is_file():
            return load_file(candidate)
    for directory in (paths.capath, paths.openssl_capath):
        if directory and Path(directory).is_dir():
            return load_file(directory)
    raise InputError("system", "no system trust store found (OpenSSL default paths are empty)")


def _windows() -> dict[str, Loaded]:  # pragma: no cover - exercised on Windows only
    stores: dict[str, Loaded] = {}
    for name in (ROOT, CA, CLIENT_AUTH_ISSUER, DISALLOWED, MY):
        certs = []
        warnings: list[LoadWarning] = []
        try:
            entries = ssl.enum_certificates(name)  # type: ignore[attr-defined]
        except (OSError, PermissionError) as exc:
            warnings.append(LoadWarning(f"system:{name}", f"cannot open store: {exc}"))
            entries = []
        for index, (der, encoding, _trust) in enumerate(entries):
            if encoding != "x509_asn":
                continue
            cert, cert_warnings = make_certificate(der, f"system:{name}", str(index))
            certs.append(cert)
            warnings.extend(cert_warnings)
        stores[name] = Loaded(tuple(certs), (), tuple(warnings), ((f"system:{name}", "windows"),))
    return stores
