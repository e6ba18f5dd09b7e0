"""Certificate listings for tests, as Windows prints them: PowerShell ``Format-List *`` and
``Format-Table`` output of ``Get-ChildItem Cert:\\LocalMachine\\<store>``, ``certutil -store``.

Written apart from certgate's listing parser, following public captures of these outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from certgate.core.model import Certificate

__all__ = ["certutil_store", "format_list", "format_table", "local_time"]


def local_time(when: datetime, culture: str = "en-US", *, seconds: bool = True) -> str:
    """How Windows prints a time in a culture: en-US, en-GB, de-DE or iso."""
    hms = "%H:%M:%S" if seconds else "%H:%M"
    if culture == "en-US":
        hour = when.hour % 12 or 12
        rest = f"{when:%M:%S}" if seconds else f"{when:%M}"
        return (
            f"{when.month}/{when.day}/{when.year} {hour}:{rest} {'PM' if when.hour >= 12 else 'AM'}"
        )
    if culture == "en-GB":
        return when.strftime(f"%d/%m/%Y {hms}")
    if culture == "de-DE":
        return when.strftime(f"%d.%m.%Y {hms}")
    return when.strftime(f"%Y-%m-%d {hms}")


def _parent(store: str) -> str:
    return f"Microsoft.PowerShell.Security\\Certificate::LocalMachine\\{store}"


def format_list(
    certs: Sequence[Certificate],
    store: str = "Root",
    *,
    culture: str = "en-US",
    full_rawdata: bool = False,
    width: int | None = None,
    parent: bool = True,
) -> str:
    """``Get-ChildItem Cert:\\LocalMachine\\<store> | Format-List *``.

    ``full_rawdata`` prints the whole RawData array ($FormatEnumerationLimit = -1); ``width``
    wraps long values onto continuation lines as the console does.
    """
    out = [""]
    for cert in certs:
        raw = list(cert.der) if full_rawdata else list(cert.der[:4])
        raw_text = "{" + ", ".join(map(str, raw)) + ("}" if full_rawdata else "...}")
        rows: list[tuple[str, str]] = []
        if parent:
            rows += [
                ("PSPath", f"{_parent(store)}\\{cert.sha1}"),
                ("PSParentPath", _parent(store)),
                ("PSChildName", cert.sha1),
                ("PSDrive", "Cert"),
            ]
        rows += [
            ("PSIsContainer", "False"),
            ("EnhancedKeyUsageList", "{}"),
            ("FriendlyName", cert.friendly_name or ""),
            ("NotAfter", local_time(cert.not_after, culture)),
            ("NotBefore", local_time(cert.not_before, culture)),
            ("HasPrivateKey", "False"),
            ("PublicKey", "System.Security.Cryptography.X509Certificates.PublicKey"),
            ("RawData", raw_text),
            ("SerialNumber", cert.serial_hex.upper()),
            ("SignatureAlgorithm", "System.Security.Cryptography.Oid"),
            ("Thumbprint", cert.sha1),
            ("Version", "3"),
            ("Issuer", str(cert.issuer)),
            ("Subject", str(cert.subject)),
        ]
        pad = max(len(name) for name, _ in rows)
        for name, value in rows:
            out.extend(_wrapped(f"{name:<{pad}} : ", value, width))
        out += ["", ""]
    return "\r\n".join(out)


def _wrapped(prefix: str, value: str, width: int | None) -> list[str]:
    if width is None or len(prefix) + len(value) <= width:
        return [prefix + value]
    room = width - len(prefix)
    pieces = [value[i : i + room] for i in range(0, len(value), room)]
    return [prefix + pieces[0]] + [" " * len(prefix) + p for p in pieces[1:]]


def format_table(
    certs: Sequence[Certificate],
    store: str = "Root",
    *,
    columns: Sequence[str] = ("Thumbprint", "Subject"),
    culture: str = "en-US",
    truncate_at: int | None = None,
) -> str:
    """``Get-ChildItem ... | Format-Table <columns>`` with the PSParentPath group header.

    ``truncate_at`` cuts wide values with ``...`` as a narrow console does.
    """

    def value(cert: Certificate, column: str) -> str:
        return {
            "Thumbprint": cert.sha1,
            "Subject": str(cert.subject),
            "Issuer": str(cert.issuer),
            "NotAfter": local_time(cert.not_after, culture),
            "NotBefore": local_time(cert.not_before, culture),
            "FriendlyName": cert.friendly_name or "",
        }[column]

    rows = [[value(c, col) for col in columns] for c in certs]
    if truncate_at is not None:
        rows = [
            [v if len(v) <= truncate_at else v[: truncate_at - 3] + "..." for v in r] for r in rows
        ]
    widths = [max([len(col), *(len(r[i]) for r in rows)]) for i, col in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        return " ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)).rstrip()

    out = ["", f"   PSParentPath: {_parent(store)}", "", line(columns)]
    out.append(line(["-" * len(col) for col in columns]))
    out.extend(line(r) for r in rows)
    return "\r\n".join([*out, "", ""])


def certutil_store(certs: Sequence[Certificate], store: str = "Root") -> str:
    """``certutil -store <store>`` (en-US dates, no seconds), with the store header line."""
    display = {
        "Root": "Trusted Root Certification Authorities",
        "CA": "Intermediate Certification Authorities",
    }
    out = [f'{store} "{display.get(store, store)}"']
    for index, cert in enumerate(certs):
        out += [
            f"================ Certificate {index} ================",
            f"Serial Number: {cert.serial_hex.lower()}",
            f"Issuer: {cert.issuer}",
            f" NotBefore: {local_time(cert.not_before, seconds=False)}",
            f" NotAfter: {local_time(cert.not_after, seconds=False)}",
            f"Subject: {cert.subject}",
        ]
        if cert.subject == cert.issuer:
            out += ["Signature matches Public Key", "Root Certificate: Subject matches Issuer"]
        else:
            out.append("Non-root Certificate")
        out += [
            f"Cert Hash(sha1): {cert.sha1.lower()}",
            "No key provider information",
            "Cannot find the certificate and private key for decryption.",
            "",
        ]
    out.append("CertUtil: -store command completed successfully.")
    return "\r\n".join(out) + "\r\n"
