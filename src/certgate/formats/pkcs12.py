"""PKCS#12 (.pfx, .p12): the certificates only. Private keys are never kept or shown."""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.serialization import pkcs12

from certgate.core.model import Certificate
from certgate.errors import InputError
from certgate.formats._base import Loaded, LoadWarning

__all__ = ["PasswordPrompt", "load_pkcs12"]

PasswordPrompt = Callable[[str], bytes | None]


def load_pkcs12(
    data: bytes,
    path: str,
    password: bytes | None = None,
    prompt: PasswordPrompt | None = None,
) -> Loaded:
    """Open with ``password``; with none given try no/empty password, then ``prompt`` once."""
    attempts: list[bytes | None] = [password] if password is not None else [None, b""]
    bundle = None
    for attempt in attempts:
        bundle = _try_open(data, attempt)
        if bundle is not None:
            break
    if bundle is None and prompt is not None:
        asked = prompt(path)
        if asked is not None:
            bundle = _try_open(data, asked)
    if bundle is None:
        what = "wrong password" if password is not None or prompt else "a password is needed"
        raise InputError(path, f"cannot open PKCS#12: {what}, or the file is damaged")
    certs: list[Certificate] = []
    warnings: list[LoadWarning] = []
    entries = ([bundle.cert] if bundle.cert is not None else []) + list(bundle.additional_certs)
    for index, entry in enumerate(entries):
        name = entry.friendly_name.decode("utf-8", "replace") if entry.friendly_name else None
        cert = Certificate.from_cryptography(
            entry.certificate, source=f"{path}#certificate {index}", friendly_name=name
        )
        certs.append(cert)
        warnings.extend(LoadWarning(path, i, f"certificate {index}") for i in cert.parse_issues)
    if not certs:
        warnings.append(LoadWarning(path, "PKCS#12 file holds no certificates"))
    return Loaded(tuple(certs), (), tuple(warnings), ((path, "pkcs12"),))


def _try_open(data: bytes, password: bytes | None) -> pkcs12.PKCS12KeyAndCertificates | None:
    try:
        return pkcs12.load_pkcs12(data, password)
    except (ValueError, TypeError):
        return None
