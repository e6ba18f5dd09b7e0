"""Load the client certificate a probe presents: PEM cert + key, or a PFX; extra intermediates.

The private key is loaded for the handshake only: it is never printed, logged or written.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from certgate.core.model import Certificate
from certgate.errors import InputError, UsageError
from certgate.formats import PasswordPrompt, load_file, load_pkcs12
from certgate.tls.connection import Credentials

__all__ = ["load_credentials"]

_MAX_KEY_FILE = 1024 * 1024


def load_credentials(
    *,
    cert: str | None = None,
    key: str | None = None,
    pfx: str | None = None,
    chain: str | None = None,
    password: bytes | None = None,
    prompt: PasswordPrompt | None = None,
) -> Credentials | None:
    """``--cert F --key F`` or ``--pfx F``, plus ``--chain F``; None when none is given."""
    if pfx is not None and (cert is not None or key is not None):
        raise UsageError("give either --cert and --key, or --pfx, not both")
    if (cert is None) != (key is None):
        raise UsageError("--cert and --key go together")
    if pfx is not None:
        leaf, extra, private = _from_pfx(pfx, password, prompt)
    elif cert is not None and key is not None:
        leaf, extra, private = _from_pem(cert, key, password)
    else:
        if chain is not None:
            raise UsageError("--chain needs a client certificate (--cert/--key or --pfx)")
        return None
    if chain is not None:
        extra += [c for c in _certificates(chain, password, prompt) if c not in extra]
    extra = [c for c in extra if c != leaf]
    return Credentials(leaf, private, tuple(extra))


def _from_pem(
    cert: str, key: str, password: bytes | None
) -> tuple[x509.Certificate, list[x509.Certificate], PrivateKeyTypes]:
    private = _private_key(key, password)
    certificates = _certificates(cert, password, None)
    leaf = _matching(certificates, private, cert)
    return leaf, [c for c in certificates if c != leaf], private


def _from_pfx(
    path: str, password: bytes | None, prompt: PasswordPrompt | None
) -> tuple[x509.Certificate, list[x509.Certificate], PrivateKeyTypes]:
    data = _read(path)
    asked: list[bytes | None] = []

    def remember(name: str) -> bytes | None:
        answer = prompt(name) if prompt is not None else None
        asked.append(answer)
        return answer

    loaded = load_pkcs12(data, path, password, remember)  # the certificates, as everywhere
    secret = password if password is not None else (asked[-1] if asked else None)
    private = _pfx_key(data, path, secret)
    certificates = [c.x509 for c in loaded.certificates if c.x509 is not None]
    leaf = _matching(certificates, private, path)
    return leaf, [c for c in certificates if c != leaf], private


def _pfx_key(data: bytes, path: str, password: bytes | None) -> PrivateKeyTypes:
    for attempt in [password] if password is not None else [None, b""]:
        try:
            key, _, _ = pkcs12.load_key_and_certificates(data, attempt)
        except (ValueError, TypeError):
            continue
        if key is None:
            raise InputError(path, "the PKCS#12 file holds no private key")
        return key
    raise InputError(path, "cannot open the PKCS#12 private key: wrong password")


def _private_key(path: str, password: bytes | None) -> PrivateKeyTypes:
    data = _read(path, limit=_MAX_KEY_FILE)
    problem = "not a PEM or DER private key"
    if password is not None:
        problem += ", or the wrong password"
    for loader in (serialization.load_pem_private_key, serialization.load_der_private_key):
        try:
            return loader(data, password)
        except TypeError:
            problem = "the key is encrypted: give its password with --password"
            if password is not None:
                problem = "the key is not encrypted, but a password was given"
        except (ValueError, UnsupportedAlgorithm):
            continue
    raise InputError(path, problem)


def _certificates(
    path: str, password: bytes | None, prompt: PasswordPrompt | None
) -> list[x509.Certificate]:
    loaded = load_file(path, password=password, prompt=prompt)
    certificates = [c.x509 for c in loaded.certificates if c.x509 is not None]
    if not certificates:
        raise InputError(path, "no certificate found")
    return certificates


def _matching(
    certificates: list[x509.Certificate], key: PrivateKeyTypes, path: str
) -> x509.Certificate:
    """The certificate whose public key is the key's: the leaf, wherever it sits in the file."""
    wanted = _spki(key.public_key())
    for cert in certificates:
        if _spki(cert.public_key()) == wanted:
            return cert
    raise InputError(path, "no certificate in it matches the private key")


def _spki(public_key: object) -> bytes:
    encode = getattr(public_key, "public_bytes", None)
    if encode is None:
        return b""
    return bytes(
        encode(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _read(path: str, limit: int = 64 * 1024 * 1024) -> bytes:
    target = Path(path)
    try:
        if target.stat().st_size > limit:
            raise InputError(path, f"file is over {limit:,} bytes")
        return target.read_bytes()
    except OSError as exc:
        raise InputError(path, (exc.strerror or str(exc)).lower()) from exc


def certificates_of(credentials: Credentials) -> tuple[Certificate, tuple[Certificate, ...]]:
    """certgate's view of the certificates (for the report); the key stays out."""
    leaf = Certificate.from_cryptography(credentials.certificate, source="client certificate")
    extra = tuple(Certificate.from_cryptography(c, source="chain") for c in credentials.chain)
    return leaf, extra
