"""Read certificates from whatever users export, recognised by content, not by extension.

PEM bundles, DER, PKCS#7 (DER or PEM), PKCS#12, Windows serialized stores (.sst), folders
(OpenSSL hashed directories included) and the system store of this machine.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from cryptography import x509

from certgate.core.der import signed_kind
from certgate.core.model import Certificate
from certgate.errors import InputError
from certgate.formats._base import Loaded, LoadWarning, der_header, make_certificate, os_reason
from certgate.formats.pem import load_pem, looks_like_pem
from certgate.formats.pkcs7 import load_pkcs7
from certgate.formats.pkcs12 import PasswordPrompt, load_pkcs12
from certgate.formats.sst import MAGIC as SST_MAGIC
from certgate.formats.sst import load_sst

__all__ = [
    "MAX_FILE_SIZE",
    "LoadWarning",
    "Loaded",
    "PasswordPrompt",
    "load_bytes",
    "load_file",
    "load_paths",
    "load_pem",
    "load_pkcs7",
    "load_pkcs12",
    "load_sst",
    "make_certificate",
    "sniff_store_format",
]

MAX_FILE_SIZE = 256 * 1024 * 1024
_PKCS7_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")


def sniff_store_format(data: bytes) -> str:
    """Which certificate-store format ``data`` holds, by content (never by file name):
    ``sst``, ``pem``, ``der``, ``crl``, ``pkcs7``, ``pkcs12`` or ``unknown``."""
    if data.startswith(SST_MAGIC):
        return "sst"
    if data[:2] == b"\x30\x80" and data[2 : 2 + len(_PKCS7_SIGNED_DATA_OID)] == (
        _PKCS7_SIGNED_DATA_OID
    ):
        return "pkcs7"  # BER, indefinite length (Windows and Java tools, openssl -stream)
    outer = der_header(data)
    if outer is not None and outer.tag == 0x30:
        inner = der_header(data, outer.header_length)
        if inner is not None:
            start = outer.header_length
            if inner.tag == 0x30:
                return "crl" if signed_kind(data) == "crl" else "der"
            if data[start : start + len(_PKCS7_SIGNED_DATA_OID)] == _PKCS7_SIGNED_DATA_OID:
                return "pkcs7"
            if inner.tag == 0x06:
                return "pkcs7"
            if data[start : start + 3] == b"\x02\x01\x03":
                return "pkcs12"
    if looks_like_pem(data[: 1 << 20]) or looks_like_pem(data):
        return "pem"
    return "unknown"


def load_bytes(
    data: bytes,
    path: str,
    *,
    password: bytes | None = None,
    prompt: PasswordPrompt | None = None,
) -> Loaded:
    """Load one file's bytes. Raises ``InputError`` (naming ``path``) when they are unusable."""
    if not data:
        raise InputError(path, "file is empty")
    kind = sniff_store_format(data)
    if kind == "sst":
        return load_sst(data, path)
    if kind == "pem":
        return load_pem(data, path)
    if kind == "pkcs7":
        return load_pkcs7(data, path)
    if kind == "pkcs12":
        return load_pkcs12(data, path, password, prompt)
    if kind == "der":
        return _load_der(data, path)
    if kind == "crl":
        return _load_crl(data, path)
    raise InputError(
        path, "not a certificate file (no PEM block; not DER, PKCS#7, PKCS#12 or .sst data)"
    )


def _load_der(data: bytes, path: str) -> Loaded:
    header = der_header(data)
    assert header is not None
    if header.total > len(data):
        raise InputError(
            path,
            f"truncated DER: the certificate declares {header.total} bytes, "
            f"the file has {len(data)}",
            f"byte {len(data)}",
        )
    warnings: list[LoadWarning] = []
    if header.total < len(data):
        extra = len(data) - header.total
        warnings.append(
            LoadWarning(
                path, f"{extra} byte(s) after the certificate ignored", f"byte {header.total}"
            )
        )
    cert, cert_warnings = make_certificate(data[: header.total], path, "")
    return Loaded((cert,), (), tuple(warnings + cert_warnings), ((path, "der"),))


def _load_crl(data: bytes, path: str) -> Loaded:
    try:
        crl = x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise InputError(path, f"not a readable CRL: {exc}") from exc
    return Loaded((), (crl,), (), ((path, "crl"),))


def load_file(
    path: str | os.PathLike[str],
    *,
    password: bytes | None = None,
    prompt: PasswordPrompt | None = None,
    on_file: Callable[[str], None] | None = None,
) -> Loaded:
    """Load one file, or every certificate file below a folder (``on_file`` sees each)."""
    target = Path(path)
    name = str(path)
    try:
        info = target.stat()
    except OSError as exc:
        raise InputError(name, os_reason(exc)) from exc
    if stat.S_ISDIR(info.st_mode):
        return _load_folder(target, password=password, prompt=prompt, on_file=on_file)
    if on_file is not None:
        on_file(name)
    data = read_store_bytes(target, name, info)
    return load_bytes(data, name, password=password, prompt=prompt)


def read_store_bytes(target: Path, name: str, info: os.stat_result) -> bytes:
    """The bytes of the store file ``target`` (``info`` is its ``stat``): a regular file of at
    most ``MAX_FILE_SIZE`` bytes, or an ``InputError`` naming it."""
    if not stat.S_ISREG(info.st_mode):
        raise InputError(name, "not a regular file")
    if info.st_size > MAX_FILE_SIZE:
        raise InputError(
            name,
            f"file is {info.st_size:,} bytes; certificate stores over "
            f"{MAX_FILE_SIZE // (1 << 20)} MiB are not supported",
        )
    try:
        return target.read_bytes()
    except OSError as exc:
        raise InputError(name, os_reason(exc)) from exc


def load_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    password: bytes | None = None,
    prompt: PasswordPrompt | None = None,
    on_file: Callable[[str], None] | None = None,
) -> Loaded:
    """Load several inputs. One bad input among several is a warning; if all are bad, raise.

    With a single input its error is raised as is, so the user sees exactly what is wrong.
    """
    items = list(paths)
    result = Loaded()
    errors: list[InputError] = []
    for item in items:
        try:
            result += load_file(item, password=password, prompt=prompt, on_file=on_file)
        except InputError as exc:
            errors.append(exc)
    if errors and (len(items) == 1 or len(errors) == len(items)):
        raise errors[0]
    skipped = tuple(LoadWarning(e.path, f"skipped: {e.message}", e.where) for e in errors)
    return result + Loaded(warnings=skipped)


def folder_files(folder: Path) -> Iterator[Path]:
    """Every file below ``folder``, in a stable order, each real file once: OpenSSL hashed
    directories link hash names to the real files."""
    seen: set[Path] = set()
    for root, dirs, files in os.walk(folder, onerror=None):
        dirs.sort()
        for file_name in sorted(files):
            file_path = Path(root) / file_name
            try:
                real = file_path.resolve()
            except OSError:
                real = file_path
            if real not in seen:
                seen.add(real)
                yield file_path


def _load_folder(
    folder: Path,
    *,
    password: bytes | None,
    prompt: PasswordPrompt | None,
    on_file: Callable[[str], None] | None,
) -> Loaded:
    result = Loaded()
    for file_path in folder_files(folder):
        try:
            result += load_file(file_path, password=password, prompt=prompt, on_file=on_file)
        except InputError as exc:
            note = LoadWarning(exc.path, f"skipped: {exc.message}", exc.where)
            result += Loaded(warnings=(note,))
    result = _once_each(result, folder)
    if not result.certificates and not result.crls:
        raise empty_folder(folder, skipped=len(result.warnings))
    return result


def empty_folder(folder: Path, *, skipped: int) -> InputError:
    """The error for a folder that gave no certificate or CRL (``skipped`` files were bad)."""
    if not os.access(folder, os.R_OK | os.X_OK):
        return InputError(str(folder), "folder cannot be read: permission denied")
    detail = f" ({skipped} file(s) skipped)" if skipped else ""
    return InputError(str(folder), f"no certificates found in this folder{detail}")


def repeated_in_folder(folder: Path, repeated: int) -> LoadWarning:
    """The warning for certificates found in more than one file of one folder."""
    return LoadWarning(
        str(folder),
        f"{repeated:,} certificate(s) appear in more than one file of this folder (a bundle "
        "such as ca-certificates.crt next to its files): each is counted once",
    )


def _once_each(result: Loaded, folder: Path) -> Loaded:
    """A folder is one store: a certificate in several of its files (``ca-certificates.crt``
    next to the files it was built from, copies under other names) is in it once."""
    unique: dict[str, Certificate] = {}
    for cert in result.certificates:
        unique.setdefault(cert.sha256, cert)
    repeated = len(result.certificates) - len(unique)
    if not repeated:
        return result
    note = repeated_in_folder(folder, repeated)
    return replace(result, certificates=tuple(unique.values()), warnings=(*result.warnings, note))
